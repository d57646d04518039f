/**
 * An adapter or Google client whose module is loaded on its first call, not at start-up. Loading
 * google-gax, grpc, nodemailer or ioredis costs a cold start hundreds of milliseconds, and most
 * instances never call the adapter at all (the watchdog never signs, cleanup never mails).
 *
 * Only for objects whose every method returns a promise: a call waits for the load, then calls
 * through. A failed load fails that call and is tried again on the next one.
 */
const LOAD = Symbol('load deferred adapter');

export function deferred<T extends object>(load: () => Promise<T>, known: Partial<T> = {}): T {
  let loading: Promise<T> | undefined;
  const target = (): Promise<T> => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
  const close = async () => {
    // Closing what was never opened must not load it.
    const loaded = await loading?.catch(() => undefined);
    await (loaded as { close?: () => unknown } | undefined)?.close?.();
  };
  return new Proxy(known as T, {
    get(object, property) {
      if (property === LOAD) return target;
      if (property in object) return object[property as keyof T];
      if (property === 'close') return close;
      // Not a thenable: an awaited deferred adapter must stay the adapter.
      if (property === 'then') return undefined;
      return async (...args: unknown[]) => {
        const loaded = await target();
        const method = loaded[property as keyof T] as unknown as (...a: unknown[]) => unknown;
        return method.apply(loaded, args);
      };
    },
  });
}

/** What a deferred adapter stands for, loaded (the adapter itself when it is not deferred). */
export async function loadedAdapter(adapter: object): Promise<unknown> {
  const load = (adapter as { [LOAD]?: () => Promise<unknown> })[LOAD];
  return load ? load() : adapter;
}
