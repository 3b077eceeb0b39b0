// The CSI node plugin of the real node: for each of the test storage's
// drivers (the directory one, RBD and CephFS), the CSI Identity and Node
// services on a unix socket of its own, and a registration socket in the
// kubelet's plugin registry, the way node-driver-registrar announces a
// driver (the kubelet asks GetInfo, then tells NotifyRegistrationStatus).
// NodePublishVolume makes the volume usable on this machine through the
// storage backend (as the node agent does) and bind-mounts it at the
// kubelet's target path: a folder for a Filesystem volume, the device for a
// Block one; NodeUnpublishVolume undoes both. The services are loaded from
// the CSI specification's and the kubelet's own .proto files (copied to the
// cache by testenv/scripts/build-go-tools.sh).
//   node main.ts --env-dir DIR --node NAME --plugin-dir DIR --registry-dir DIR --protos DIR
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { run } from '../command.ts';
import type { VolumeBackend } from '../storage/backend.ts';
import { storageBackends } from '../storage/backends.ts';

const { values } = parseArgs({
  options: {
    'env-dir': { type: 'string' },
    node: { type: 'string' },
    'plugin-dir': { type: 'string' },
    'registry-dir': { type: 'string' },
    protos: { type: 'string' },
  },
});
const required = (name: keyof typeof values): string => {
  const value = values[name];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
};
const nodeName = required('node');
const pluginDir = required('plugin-dir');
const registryDir = required('registry-dir');
const protos = required('protos');

const loadOptions = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
type Services = Record<string, Record<string, grpc.GrpcObject & { service: grpc.ServiceDefinition }>>;
const csi = grpc.loadPackageDefinition(protoLoader.loadSync(join(protos, 'csi.proto'), loadOptions)) as unknown as {
  csi: { v1: Record<string, { service: grpc.ServiceDefinition }> };
};
const registration = grpc.loadPackageDefinition(
  protoLoader.loadSync(join(protos, 'pluginregistration.proto'), loadOptions),
) as unknown as Services & { pluginregistration: { Registration: { service: grpc.ServiceDefinition } } };

type Call<T> = grpc.ServerUnaryCall<T, unknown>;
type Callback = grpc.sendUnaryData<unknown>;

/** A handler whose failure is a gRPC status with the message a person can act on. */
function unary<T>(handle: (request: T) => unknown) {
  return (call: Call<T>, callback: Callback) => {
    Promise.resolve()
      .then(() => handle(call.request))
      .then(
        (answer) => callback(null, answer),
        (error: unknown) => {
          const status = (error as { code?: grpc.status }).code ?? grpc.status.INTERNAL;
          callback({ code: status, details: error instanceof Error ? error.message : String(error) });
        },
      );
  };
}

function failure(code: grpc.status, message: string): Error & { code: grpc.status } {
  return Object.assign(new Error(message), { code });
}

interface PublishRequest {
  volume_id: string;
  target_path: string;
  readonly: boolean;
  volume_capability?: { block?: object; mount?: object };
  volume_context?: Record<string, string>;
}

/** What each target path holds, to release when it is unpublished (lost with the process, as a plugin's state is). */
const published = new Map<string, () => Promise<void>>();

async function isMountPoint(path: string): Promise<boolean> {
  return run('mountpoint', ['-q', path]).then(
    () => true,
    () => false,
  );
}

async function publish(backend: VolumeBackend, request: PublishRequest): Promise<object> {
  if (request.volume_id === '' || request.target_path === '')
    throw failure(grpc.status.INVALID_ARGUMENT, 'volume_id and target_path are required');
  if (await isMountPoint(request.target_path)) return {};
  const block = request.volume_capability?.block !== undefined;
  const volume = await backend.publish(
    { volumeHandle: request.volume_id, attributes: request.volume_context ?? {} },
    block ? 'Block' : 'Filesystem',
    request.readonly,
  );
  if (block) {
    mkdirSync(dirname(request.target_path), { recursive: true });
    writeFileSync(request.target_path, '');
  } else {
    mkdirSync(request.target_path, { recursive: true });
  }
  await run('mount', ['--bind', volume.path, request.target_path]);
  if (request.readonly) await run('mount', ['-o', 'remount,bind,ro', request.target_path]);
  published.set(request.target_path, () => volume.release());
  return {};
}

async function unpublish(request: { volume_id: string; target_path: string }): Promise<object> {
  if (await isMountPoint(request.target_path)) await run('umount', [request.target_path]);
  rmSync(request.target_path, { recursive: true, force: true });
  await published.get(request.target_path)?.();
  published.delete(request.target_path);
  return {};
}

function nodeService(backend: VolumeBackend): grpc.UntypedServiceImplementation {
  return {
    NodeGetInfo: unary(() => ({ node_id: nodeName, max_volumes_per_node: 0 })),
    NodeGetCapabilities: unary(() => ({ capabilities: [] })),
    NodePublishVolume: unary((request: PublishRequest) => publish(backend, request)),
    NodeUnpublishVolume: unary(unpublish),
    NodeStageVolume: unary(() => {
      throw failure(grpc.status.UNIMPLEMENTED, 'this plugin does not stage volumes');
    }),
    NodeUnstageVolume: unary(() => {
      throw failure(grpc.status.UNIMPLEMENTED, 'this plugin does not stage volumes');
    }),
    NodeGetVolumeStats: unary(() => {
      throw failure(grpc.status.UNIMPLEMENTED, 'no volume stats');
    }),
    NodeExpandVolume: unary(() => {
      throw failure(grpc.status.UNIMPLEMENTED, 'no expansion');
    }),
  };
}

function identityService(driver: string): grpc.UntypedServiceImplementation {
  return {
    GetPluginInfo: unary(() => ({ name: driver, vendor_version: '1' })),
    GetPluginCapabilities: unary(() => ({ capabilities: [] })),
    Probe: unary(() => ({ ready: { value: true } })),
  };
}

async function serve(server: grpc.Server, socket: string): Promise<void> {
  rmSync(socket, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (error) =>
      error === null ? resolve() : reject(error),
    ),
  );
}

mkdirSync(pluginDir, { recursive: true });
mkdirSync(registryDir, { recursive: true });
for (const [driver, backend] of storageBackends(required('env-dir'))) {
  const endpoint = join(pluginDir, `${driver}.sock`);
  const plugin = new grpc.Server();
  plugin.addService(csi.csi.v1.Identity?.service as grpc.ServiceDefinition, identityService(driver));
  plugin.addService(csi.csi.v1.Node?.service as grpc.ServiceDefinition, nodeService(backend));
  await serve(plugin, endpoint);

  const registrar = new grpc.Server();
  registrar.addService(registration.pluginregistration.Registration.service, {
    GetInfo: unary(() => ({ type: 'CSIPlugin', name: driver, endpoint, supported_versions: ['1.0.0'] })),
    NotifyRegistrationStatus: unary((status: { plugin_registered: boolean; error: string }) => {
      console.log(
        `${driver}: ${status.plugin_registered ? 'registered with the kubelet' : `not registered: ${status.error}`}`,
      );
      return {};
    }),
  });
  await serve(registrar, join(registryDir, `${driver}-reg.sock`));
  console.log(`${driver}: serving ${endpoint}`);
}
