// A daemon of the test environment: listens on the bridge's address and
// passes each connection to the same port on loopback, so the real node's
// Pods reach the API server and radosgw, which listen on 127.0.0.1 only.
//   node forwarder.ts --address 10.213.0.1 --port 36443 --port 7480
import { createServer, connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { address: { type: 'string' }, port: { type: 'string', multiple: true } },
});
const address = values.address;
if (address === undefined || values.port === undefined) throw new Error('usage: forwarder.ts --address IP --port N...');

for (const port of values.port.map(Number)) {
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  server.listen(port, address, () => console.log(`forwarding ${address}:${port} to 127.0.0.1:${port}`));
}
