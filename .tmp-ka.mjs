import http from 'node:http';
const port = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const streamOnce = () => new Promise((resolve, reject) => {
  const request = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (response) => { response.resume(); response.on('end', () => resolve(request.socket)); });
  request.on('error', reject);
  request.end(JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, stream: true }));
});
const first = await streamOnce();
await new Promise((r) => setTimeout(r, 500));
console.log('destroyed after stream:', first.destroyed);
agent.destroy();
