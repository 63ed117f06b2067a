/**
 * A gRPC reflection client the way python-core builds its stubs, on @grpc/grpc-js (independent of our
 * generated code): ask `file_containing_symbol` on one bidi stream, take the returned files as a
 * FileDescriptorSet, load it with proto-loader, and call the service dynamically.
 */
import path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const root = path.resolve(import.meta.dirname, "../..");

export type ReflectionVersion = "v1" | "v1alpha";

// biome-ignore lint/suspicious/noExplicitAny: proto-loader objects are untyped
type Loose = any;

/** One reflection answer as grpc-js decodes it (keepCase). */
export interface ReflectionAnswer {
  readonly file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  readonly list_services_response?: { service: { name: string }[] };
  readonly error_response?: { error_code: number; error_message: string };
  readonly all_extension_numbers_response?: { base_type_name: string; extension_number: number[] };
}

export function reflectionClient(url: string, version: ReflectionVersion) {
  const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
    keepCase: true,
    includeDirs: [path.join(root, "third_party")],
  });
  const pkg = grpc.loadPackageDefinition(definition) as Loose;
  const client = new pkg.grpc.reflection[version].ServerReflection(
    url.replace("http://", ""),
    grpc.credentials.createInsecure(),
  );
  return {
    /** Send every request on one stream; resolves with the answers in order. */
    ask(requests: object[]): Promise<ReflectionAnswer[]> {
      return new Promise((resolve, reject) => {
        const answers: ReflectionAnswer[] = [];
        const call = client.ServerReflectionInfo();
        call.on("data", (answer: ReflectionAnswer) => answers.push(answer));
        call.on("error", reject);
        call.on("end", () => resolve(answers));
        for (const request of requests) call.write(request);
        call.end();
      });
    },
    close: () => client.close(),
  };
}

export function decodeFile(bytes: Uint8Array): FileDescriptorProto {
  return fromBinary(FileDescriptorProtoSchema, bytes);
}

/** The files of an answer as a FileDescriptorSet (field 1, repeated), for proto-loader. */
export function descriptorSet(files: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(Buffer.from([0x0a]), varint(file.length), Buffer.from(file));
  }
  return Buffer.concat(parts);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/**
 * A client for `serviceName` built only from reflected files, as python-core does: the module comes
 * from file_descriptor_proto[0], the service is that file's service[0].
 */
export function dynamicClient(url: string, token: string, files: readonly Uint8Array[]) {
  const first = decodeFile(files[0] as Uint8Array);
  const service = first.service[0];
  if (!service) throw new Error(`${first.name} defines no service`);
  const definition = protoLoader.loadFileDescriptorSetFromBuffer(descriptorSet(files), {
    keepCase: true,
    enums: String,
    // Default values filled in, so an empty repeated field reads as [] (python's stubs do the same).
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as Loose;
  let ctor: Loose = pkg;
  for (const part of `${first.package}.${service.name}`.split(".")) ctor = ctor[part];
  const client = new ctor(url.replace("http://", ""), grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set("token", token);
  return {
    fileName: first.name,
    serviceName: `${first.package}.${service.name}`,
    call: (method: string, request: unknown): Promise<Loose> =>
      new Promise((resolve, reject) =>
        client[method](request, metadata, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))),
      ),
    close: () => client.close(),
  };
}
