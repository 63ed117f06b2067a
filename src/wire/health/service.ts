/**
 * `grpc.health.v1.Health`: what Kubernetes gRPC probes and python-core ask.
 *
 * Check answers SERVING or NOT_SERVING for "" and every served service, and NOT_FOUND for a name this
 * server does not serve (the protocol's rule). Watch sends the current status at once and then each
 * change: a drain is pushed the moment it starts; the database is re-checked every `pollMs` while a
 * watcher is connected. An unknown name is watched as SERVICE_UNKNOWN (the protocol's rule for Watch).
 */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../../gen/grpc/health/v1/health_pb.js";
import type { HealthState } from "./health-state.js";

export { Health };

export function healthService(state: HealthState, pollMs: number): ServiceImpl<typeof Health> {
  const statusOf = async (service: string): Promise<Status> => {
    if (!state.knows(service)) return Status.SERVICE_UNKNOWN;
    return (await state.readiness()).ready ? Status.SERVING : Status.NOT_SERVING;
  };
  return {
    async check(req) {
      if (!state.knows(req.service)) {
        throw new ConnectError(`unknown service ${JSON.stringify(req.service.slice(0, 200))}`, Code.NotFound);
      }
      return { status: await statusOf(req.service) };
    },
    async *watch(req, ctx) {
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const status = await statusOf(req.service);
        if (status !== last) {
          last = status;
          yield { status };
        }
        await nextChange(state, pollMs, ctx.signal);
      }
    },
    async list() {
      const statuses: Record<string, { status: Status }> = {};
      for (const service of state.services()) statuses[service] = { status: await statusOf(service) };
      return { statuses };
    },
  };
}

/** Resolves on the first of: a state change, `pollMs`, the call's end. */
function nextChange(state: HealthState, pollMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, pollMs);
    const unsubscribe = state.onChange(done);
    signal.addEventListener("abort", done);
  });
}
