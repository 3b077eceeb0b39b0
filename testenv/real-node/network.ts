// The real node's network, inside this machine only: a bridge the test
// environment makes (safehold0, 10.213.0.1/24), Pods on it through the CNI
// bridge plugin with routes to the bridge's subnet and the Service range and
// nothing else (no default route, no masquerading; the machine does not
// forward), and forwarders on the bridge's address to the API server and
// radosgw, which listen on loopback only. kube-proxy turns the Service
// range into the bridge's address.
import { run } from '../command.ts';

export const bridge = {
  name: 'safehold0',
  address: '10.213.0.1',
  subnet: '10.213.0.0/24',
  /** kube-apiserver's --service-cluster-ip-range. */
  serviceRange: '10.96.0.0/24',
} as const;
/** The `kubernetes` Service's address: the first of the range. */
export const serviceAddress = '10.96.0.1';

/** Makes the bridge, or finds it made; idempotent. */
export async function ensureBridge(): Promise<void> {
  const exists = await run('ip', ['link', 'show', bridge.name]).then(
    () => true,
    () => false,
  );
  if (!exists) await run('ip', ['link', 'add', bridge.name, 'type', 'bridge']);
  await run('ip', ['addr', 'replace', `${bridge.address}/24`, 'dev', bridge.name]);
  await run('ip', ['link', 'set', bridge.name, 'up']);
}

export async function removeBridge(): Promise<void> {
  await run('ip', ['link', 'delete', bridge.name]).catch(() => undefined);
}

/** The CNI configuration list the container runtime gives every Pod of the real node. */
export function cniConfigList(): object {
  return {
    cniVersion: '1.0.0',
    name: 'safehold-test',
    plugins: [
      {
        type: 'bridge',
        bridge: bridge.name,
        isGateway: true,
        isDefaultGateway: false,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: bridge.subnet, rangeStart: '10.213.0.10', gateway: bridge.address }]],
          routes: [{ dst: bridge.serviceRange, gw: bridge.address }],
        },
      },
      { type: 'loopback' },
    ],
  };
}
