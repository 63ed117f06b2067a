/**
 * The descriptors reflection serves, indexed once from the generated code: every file a served service
 * is defined in, and every file those import (transitively), by file name and by the full names of the
 * symbols they define.
 *
 * File names are the `.proto` paths the files were compiled from (`spaceone/api/identity/v2/job.proto`,
 * the upstream path), because clients load a file's dependencies by those names and python-core takes
 * a service's module name from its file's path. Nothing here is a hand-kept list: the services are the
 * ones the router serves, and everything else follows from their generated `DescFile`s.
 */
import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

export interface FileIndex {
  /** Full names of the served services, sorted (`grpc.health.v1.Health`, ...). */
  readonly services: readonly string[];
  /** A file by its `.proto` name. */
  file(name: string): DescFile | undefined;
  /** The file that defines a symbol: a message, enum, service, method, field, enum value or extension. */
  fileOfSymbol(fullName: string): DescFile | undefined;
  /** The file defining the extension `number` of message `containingType`. */
  fileOfExtension(containingType: string, number: number): DescFile | undefined;
  /** Extension numbers known for a message, or undefined when the message is not known at all. */
  extensionNumbers(containingType: string): readonly number[] | undefined;
  /**
   * A file followed by everything it imports, transitively, each once: the serialized
   * `FileDescriptorProto`s a reflection answer carries, the requested file first.
   */
  withDependencies(file: DescFile): readonly Uint8Array[];
}

export function createFileIndex(services: readonly DescService[]): FileIndex {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  const messages = new Set<string>();
  const bytes = new Map<DescFile, Uint8Array>();

  const addFile = (file: DescFile): void => {
    const name = fileName(file);
    if (files.has(name)) return;
    files.set(name, file);
    for (const type of nestedTypes(file)) {
      symbols.set(type.typeName, file);
      switch (type.kind) {
        case "message":
          messages.add(type.typeName);
          for (const field of type.fields) symbols.set(`${type.typeName}.${field.name}`, file);
          for (const oneof of type.oneofs) symbols.set(`${type.typeName}.${oneof.name}`, file);
          break;
        case "enum":
          // Enum values are scoped like siblings of their enum (protobuf's C++ scoping rule).
          for (const value of type.values) symbols.set(`${parentScope(type.typeName)}${value.name}`, file);
          break;
        case "service":
          for (const method of type.methods) symbols.set(`${type.typeName}.${method.name}`, file);
          break;
        case "extension": {
          const byNumber = extensions.get(type.extendee.typeName) ?? new Map<number, DescFile>();
          byNumber.set(type.number, file);
          extensions.set(type.extendee.typeName, byNumber);
          break;
        }
      }
    }
    for (const dependency of file.dependencies) addFile(dependency);
  };
  for (const service of services) addFile(service.file);

  const serialized = (file: DescFile): Uint8Array => {
    let b = bytes.get(file);
    if (b === undefined) {
      b = toBinary(FileDescriptorProtoSchema, file.proto);
      bytes.set(file, b);
    }
    return b;
  };

  return {
    services: [...new Set(services.map((s) => s.typeName))].sort(),
    file: (name) => files.get(name),
    fileOfSymbol: (fullName) => symbols.get(fullName.replace(/^\./, "")),
    fileOfExtension: (containingType, number) =>
      extensions.get(containingType.replace(/^\./, ""))?.get(number),
    extensionNumbers(containingType) {
      const name = containingType.replace(/^\./, "");
      if (!messages.has(name)) return undefined;
      return [...(extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
    },
    withDependencies(file) {
      const out: Uint8Array[] = [];
      const seen = new Set<DescFile>();
      const visit = (f: DescFile) => {
        if (seen.has(f)) return;
        seen.add(f);
        out.push(serialized(f));
        for (const dependency of f.dependencies) visit(dependency);
      };
      visit(file);
      return out;
    },
  };
}

/** The `.proto` path of a file (`DescFile.name` drops the suffix; the descriptor keeps it). */
function fileName(file: DescFile): string {
  return file.proto.name;
}

/** `a.b.Enum` -> `a.b.` : where an enum's values live. */
function parentScope(typeName: string): string {
  const dot = typeName.lastIndexOf(".");
  return dot < 0 ? "" : typeName.slice(0, dot + 1);
}
