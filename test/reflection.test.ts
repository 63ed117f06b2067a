/**
 * gRPC server reflection over the wire, with the clients real peers use: `buf curl` (v1, like grpcurl
 * and Postman) and a grpc-js client of v1alpha and v1 building its stubs the way python-core does.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFile, dynamicClient, reflectionClient } from "./support/grpc-js-reflection.js";
import { startTestServer, type TestServer } from "./support/server.js";

const run = promisify(execFile);
const buf = path.resolve(import.meta.dirname, "../node_modules/.bin/buf");

const SERVED = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "spaceone.api.identity.v2.Job",
  "spaceone.api.identity.v2.JobLifecycle",
];

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token("DOMAIN_ADMIN");
});
afterAll(() => server.close());

describe("buf curl with no --schema (reflection v1)", () => {
  it("--list-services names every service on the port", async () => {
    const { stdout } = await run(buf, ["curl", "--http2-prior-knowledge", "--list-services", server.url]);
    expect(stdout.trim().split("\n").sort()).toEqual(SERVED);
  });

  it("--list-methods includes JobLifecycle's server-streaming watch", async () => {
    const { stdout } = await run(buf, ["curl", "--http2-prior-knowledge", "--list-methods", server.url]);
    expect(stdout).toContain("spaceone.api.identity.v2.JobLifecycle/watch");
    expect(stdout).toContain("spaceone.api.identity.v2.JobLifecycle/create");
  });

  it("calls Job.get over gRPC and Connect, learning the schema from the server", async () => {
    for (const protocol of ["grpc", "connect"]) {
      const { stdout } = await run(buf, [
        "curl",
        "--http2-prior-knowledge",
        "--protocol",
        protocol,
        "-H",
        `token: ${token}`,
        "-d",
        '{"job_id": "job-a01"}',
        `${server.url}/spaceone.api.identity.v2.Job/get`,
      ]);
      expect(JSON.parse(stdout)).toMatchObject({ jobId: "job-a01", domainId: "domain-a" });
    }
  });
});

describe.each(["v1alpha", "v1"] as const)("grpc-js reflection %s client", (version) => {
  it("list_services names every service", async () => {
    const client = reflectionClient(server.url, version);
    const [answer] = await client.ask([{ list_services: "" }]);
    client.close();
    expect(answer?.list_services_response?.service.map((s) => s.name).sort()).toEqual(SERVED);
  });

  it.each([
    ["spaceone.api.identity.v2.JobLifecycle", "spaceone/api/identity/v2/job_lifecycle.proto", "JobLifecycle"],
    ["spaceone.api.identity.v2.Job", "spaceone/api/identity/v2/job.proto", "Job"],
    ["grpc.health.v1.Health", "grpc/health/v1/health.proto", "Health"],
  ])(
    "file_containing_symbol %s: the defining file first, its service first",
    async (symbol, file, service) => {
      const client = reflectionClient(server.url, version);
      const [answer] = await client.ask([{ file_containing_symbol: symbol }]);
      client.close();
      const files = answer?.file_descriptor_response?.file_descriptor_proto ?? [];
      expect(files.length).toBeGreaterThan(0);
      const first = decodeFile(files[0] as Buffer);
      expect(first.name).toBe(file);
      expect(first.service[0]?.name).toBe(service);
      // Transitive dependencies come along, each once.
      const names = files.map((f) => decodeFile(f).name);
      expect(new Set(names).size).toBe(names.length);
      for (const dependency of first.dependency) expect(names).toContain(dependency);
    },
  );

  it("resolves a method, a nested enum and a file by name, and answers unknown names with NOT_FOUND", async () => {
    const client = reflectionClient(server.url, version);
    const answers = await client.ask([
      { file_containing_symbol: "spaceone.api.identity.v2.Job.list" },
      { file_containing_symbol: "spaceone.api.identity.v2.JobInfo.Status" },
      { file_by_filename: "google/protobuf/struct.proto" },
      { file_containing_symbol: "no.such.Service" },
      { file_by_filename: "no/such.proto" },
      { all_extension_numbers_of_type: "google.protobuf.MethodOptions" },
    ]);
    client.close();
    expect(answers).toHaveLength(6);
    const firstName = (i: number) =>
      decodeFile(answers[i]?.file_descriptor_response?.file_descriptor_proto[0] as Buffer).name;
    expect(firstName(0)).toBe("spaceone/api/identity/v2/job.proto");
    expect(firstName(1)).toBe("spaceone/api/identity/v2/job.proto");
    expect(firstName(2)).toBe("google/protobuf/struct.proto");
    expect(answers[3]?.error_response?.error_code).toBe(5);
    expect(answers[3]?.error_response?.error_message).toContain("no.such.Service");
    expect(answers[4]?.error_response?.error_code).toBe(5);
    // google.api.http is extension 72295728 of MethodOptions.
    expect(answers[5]?.all_extension_numbers_response?.extension_number).toContain(72295728);
  });

  it.each([
    ["spaceone.api.identity.v2.Job", "get", { job_id: "job-a01" }],
    ["spaceone.api.identity.v2.JobLifecycle", "list_events", { job_id: "job-a01" }],
  ])("builds a %s stub from reflection alone and calls %s", async (symbol, method, request) => {
    const client = reflectionClient(server.url, version);
    const [answer] = await client.ask([{ file_containing_symbol: symbol }]);
    client.close();
    const stub = dynamicClient(
      server.url,
      token,
      answer?.file_descriptor_response?.file_descriptor_proto ?? [],
    );
    try {
      expect(stub.serviceName).toBe(symbol);
      const result = await stub.call(method, request);
      if (method === "get") expect(result).toMatchObject({ job_id: "job-a01", domain_id: "domain-a" });
      else expect(Array.isArray(result.results)).toBe(true);
    } finally {
      stub.close();
    }
  });
});
