import OpenAI from 'openai';
const [base, clients, rounds, pauseMs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const client = new OpenAI({ baseURL: base, apiKey: 'x', maxRetries: 0, timeout: 300000 });
const errors = {}; let ok = 0;
async function stream(i) {
  try {
    const s = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: `Tell me about Tokyo ${i}` }], max_tokens: 64, stream: true });
    for await (const _ of s) {}
    ok++;
  } catch (e) { const k = `${e.constructor.name}: ${e.message} ${e.cause ? e.cause.message : ""} ${e.cause?.cause ? e.cause.cause.code + " " + e.cause.cause.message : ""} at ${ok}`; errors[k] = (errors[k] ?? 0) + 1; }
}
for (let r = 0; r < rounds; r++) {
  await Promise.all(Array.from({ length: clients }, (_, i) => stream(i)));
  console.log('round', r, ok, JSON.stringify(errors));
  await new Promise((res) => setTimeout(res, pauseMs + Math.random() * 400 - 200));
}
