export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __enxPostgres?: { stop(): Promise<void> } }).__enxPostgres;
  await server?.stop();
}
