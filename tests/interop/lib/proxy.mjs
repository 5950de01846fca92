// A TCP proxy in front of our server that cuts the first connection made
// through it after a given number of response bytes (headers included),
// as a flaky network or a proxy's idle timeout does. Later connections
// pass through untouched.
import net from 'node:net';

export async function startCuttingProxy (targetPort, cutAt) {
  const record = { connections: 0, cutDone: false, forwarded: Buffer.alloc(0), requests: [] };
  const sockets = new Set();
  const server = net.createServer(client => {
    const index = record.connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const upstream = net.connect(targetPort, '127.0.0.1');
    let sent = 0;
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    // The method of each connection's first request, so that a test can
    // tell a resuming GET from a POST sent again.
    let firstLine = '';
    const sniff = data => {
      firstLine += data.toString('latin1');
      const end = firstLine.indexOf(' ');
      if (end >= 0 || firstLine.length > 16) {
        record.requests.push(end >= 0 ? firstLine.slice(0, end) : firstLine);
        client.off('data', sniff);
      }
    };
    client.on('data', sniff);
    upstream.on('data', data => {
      if (index !== 0 || record.cutDone) {
        client.write(data);
        return;
      }
      if (sent + data.length < cutAt) {
        record.forwarded = Buffer.concat([record.forwarded, data]);
        client.write(data);
        sent += data.length;
        return;
      }
      const part = data.subarray(0, cutAt - sent);
      record.forwarded = Buffer.concat([record.forwarded, part]);
      record.cutDone = true;
      upstream.destroy();
      client.end(part);
    });
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    record,
    stop: () => new Promise(resolve => {
      for (const socket of sockets)
        socket.destroy();
      server.close(resolve);
    }),
  };
}

// A small seeded generator, so that a failing run can be repeated.
export function seededRandom (seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6D2B79F5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
