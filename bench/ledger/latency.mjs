// Latency of the statistics routes on a big ledger: sequential requests on one keep-alive
// connection, after a warm-up, for each route in its mix.  Prints one JSON line per route:
// {"route", "requests", "p50_ms", "p90_ms", "p99_ms", "max_ms"}.
//   node latency.mjs <gateway URL> <admin token> <users> <requests per route>
import http from 'node:http';

const [url, admin, users = '200', n = '2000'] = process.argv.slice(2);
const USERS = Number(users), N = Number(n);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let seed = 12345;
const rnd = (k) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k; };

function get(path, token) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http.get(url + path, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let len = 0;
      res.on('data', (d) => { len += d.length; });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      });
    }).on('error', reject);
  });
}

const PERIODS = ['today', 'week', 'month', 'all'];
const mixes = {
  // seed 000's usage-stats: any user (user 1 is the heaviest, ~7 % of all rows), any period,
  // a quarter of them filtered by type, a tenth by model
  'usage-stats': () => {
    const u = 1 + rnd(USERS);
    let q = `?period=${PERIODS[rnd(4)]}`;
    if (rnd(4) === 0) q += '&type=content_image';
    if (rnd(10) === 0) q += '&model=gemini-2.5-pro';
    return [`/api/gemini/usage-stats${q}`, `bench-key-${u}`];
  },
  'usage-stats, heaviest user, period=all': () => ['/api/gemini/usage-stats?period=all', 'bench-key-1'],
  'admin stats': () => [`/admin/stats?period=${PERIODS[rnd(4)]}`, admin],
  'admin stats, period=all': () => ['/admin/stats?period=all', admin],
};

const pct = (v, p) => v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];
for (const [route, next] of Object.entries(mixes)) {
  for (let i = 0; i < Math.min(200, N); i++) await get(...next());
  const t = [];
  for (let i = 0; i < N; i++) t.push(await get(...next()));
  t.sort((a, b) => a - b);
  const r = (x) => Math.round(x * 1000) / 1000;
  console.log(JSON.stringify({ route, requests: N, p50_ms: r(pct(t, 50)), p90_ms: r(pct(t, 90)), p99_ms: r(pct(t, 99)), max_ms: r(t[t.length - 1]) }));
}
agent.destroy();
