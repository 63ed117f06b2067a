/**
 * Whether this process should get traffic: not while it drains (SIGTERM), and not while its database
 * cannot be reached or is not migrated. One source for the gRPC health service and `GET /readyz`.
 *
 * The database check is a callback (`probe`) so this module knows nothing about storage: the app wires
 * in whatever its store offers. A probe that throws counts as "not ready" with a generic reason; its
 * error is never shown to callers (it may name files or hosts).
 */

/** null when ready, otherwise a short reason fit for a probe's answer. */
export type ReadinessProbe = () => Promise<string | null> | string | null;

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

export class HealthState {
  private drainingSince: Date | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly probe: ReadinessProbe,
    /** Names of the services served here, as the health protocol names them (`pkg.Service`). */
    private readonly serviceNames: () => readonly string[],
    private readonly onProbeError?: (err: unknown) => void,
  ) {}

  /** Served service names, plus "" (the whole server). */
  services(): readonly string[] {
    return ["", ...this.serviceNames()];
  }

  knows(service: string): boolean {
    return service === "" || this.serviceNames().includes(service);
  }

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  /** From now on every check answers "not serving"; watchers hear it at once. Idempotent. */
  startDrain(): void {
    if (this.drainingSince) return;
    this.drainingSince = new Date();
    for (const listener of this.listeners) listener();
  }

  async readiness(): Promise<Readiness> {
    if (this.drainingSince) return { ready: false, reason: "draining" };
    try {
      const problem = await this.probe();
      return problem === null ? { ready: true } : { ready: false, reason: problem };
    } catch (err) {
      this.onProbeError?.(err);
      return { ready: false, reason: "database unreachable" };
    }
  }

  /** Called on every state change this process makes itself (the drain); returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
