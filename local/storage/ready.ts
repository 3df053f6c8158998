// An emulator is ready once it answers one real API call; one that does not is stopped, with the reason.
export async function whenAnswering<C extends { destroy(): void }>(
  what: string,
  client: C,
  call: (client: C) => Promise<unknown>,
  stop: () => Promise<void>,
): Promise<void> {
  try {
    await call(client);
  } catch (error) {
    await stop();
    throw new Error(`${what} did not answer: ${(error as Error).message}`);
  } finally {
    client.destroy();
  }
}
