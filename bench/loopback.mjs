// Preloaded into Portkey's gateway by bench/run.sh (node --import): its start-server.js listens
// on every interface and offers no host option, so every server here is made to listen on
// 127.0.0.1, and any outgoing connection to a host other than loopback is refused and logged.
import net from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);
export let blocked = 0;

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] !== null && typeof args[0] === 'object' && !('path' in args[0])) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  } else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    const cb = args.find((a) => typeof a === 'function');
    args = cb ? [Number(args[0]), '127.0.0.1', cb] : [Number(args[0]), '127.0.0.1'];
  }
  return listen.apply(this, args);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let o = args[0];
  if (Array.isArray(o)) o = o[0]; // internal normalized form
  let host;
  if (o !== null && typeof o === 'object') {
    if (o.path) return connect.apply(this, args);
    host = o.host ?? 'localhost';
  } else if (typeof o === 'number' || (typeof o === 'string' && /^\d+$/.test(o))) {
    host = typeof args[1] === 'string' ? args[1] : 'localhost';
  } else {
    return connect.apply(this, args); // a unix socket path
  }
  if (!LOOPBACK.has(String(host).toLowerCase())) {
    blocked++;
    process.stderr.write(`bench-loopback: refused a connection to ${host}\n`);
    const err = new Error(`bench: connection to non-loopback host ${host} refused`);
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return connect.apply(this, args);
};
