/**
 * A binary min-heap of timed events. Ties are broken by a rank (requests before evaluations, so an
 * evaluation at an instant sees every attempt that instant produced) and then by insertion order,
 * so a simulation replays in exactly the same order every time.
 */
export interface Timed {
  readonly atMs: number;
  readonly rank: number;
}

interface Entry<T> {
  readonly event: T;
  readonly seq: number;
}

export class EventQueue<T extends Timed> {
  private readonly heap: Entry<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(event: T): void {
    this.heap.push({ event, seq: (this.seq += 1) });
    let index = this.heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(this.heap[index], this.heap[parent])) break;
      [this.heap[index], this.heap[parent]] = [this.heap[parent], this.heap[index]];
      index = parent;
    }
  }

  peek(): T | undefined {
    return this.heap[0]?.event;
  }

  pop(): T | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < this.heap.length && this.before(this.heap[left], this.heap[smallest])) smallest = left;
        if (right < this.heap.length && this.before(this.heap[right], this.heap[smallest])) smallest = right;
        if (smallest === index) break;
        [this.heap[index], this.heap[smallest]] = [this.heap[smallest], this.heap[index]];
        index = smallest;
      }
    }
    return top.event;
  }

  private before(a: Entry<T>, b: Entry<T>): boolean {
    if (a.event.atMs !== b.event.atMs) return a.event.atMs < b.event.atMs;
    if (a.event.rank !== b.event.rank) return a.event.rank < b.event.rank;
    return a.seq < b.seq;
  }
}
