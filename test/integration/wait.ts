/** Await a condition with a bounded poll; resolves true when it holds, false at the deadline. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
