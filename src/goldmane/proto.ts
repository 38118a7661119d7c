/**
 * The Goldmane gRPC services (api.proto beside this file's source), loaded with @grpc/proto-loader: field names
 * as in the .proto (snake_case), enums as their names, int64 as JavaScript numbers, defaults filled in; these are
 * the shapes of src/flows/types.ts. The .proto is read from the source tree (dist/src/goldmane/proto.js →
 * src/goldmane/api.proto), which every checkout and install of calico-ts has.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Where api.proto is, from the compiled module (dist/src/goldmane) or the source one (src/goldmane). */
export function protoPath(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const fromDist = /[/\\]dist[/\\]src[/\\]goldmane[/\\]?$/.test(here);
  return fileURLToPath(
    new URL(fromDist ? '../../../src/goldmane/api.proto' : './api.proto', import.meta.url),
  );
}

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  enums: String,
  longs: Number,
  defaults: true,
  arrays: true,
  oneofs: false,
};

export interface GoldmaneServices {
  readonly Flows: grpc.ServiceClientConstructor;
  readonly FlowCollector: grpc.ServiceClientConstructor;
  readonly Statistics: grpc.ServiceClientConstructor;
}

let loaded: GoldmaneServices | undefined;

/** The three services' client constructors (and, through `.service`, their definitions for a server). */
export function goldmaneServices(): GoldmaneServices {
  if (loaded !== undefined) return loaded;
  const definition = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition)['goldmane'] as unknown as GoldmaneServices;
  loaded = { Flows: pkg.Flows, FlowCollector: pkg.FlowCollector, Statistics: pkg.Statistics };
  return loaded;
}
