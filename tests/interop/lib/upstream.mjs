// An OpenAI-compatible upstream made with express, in the shape tutorials
// use: it streams a fixed reply as chat.completion.chunk events and counts
// every generation it is asked for, so a test can tell when a client's
// reconnect made our server pay twice.
import express from 'express';

export const REPLY_TOKENS = [
  'Resuming', ' a', ' stream', ' must', ' never', ' pay', ' twice', ':', ' Grüße', ',', ' naïve',
  ' café', ',', ' 日本語', ',', ' 🙂', ' and', ' 🚀', ' arrive', ' whole', ' after', ' every', ' cut',
  ' in', ' the', ' connection', ',', ' byte', ' for', ' byte', ',', ' with', ' nothing', ' lost',
  ' and', ' nothing', ' doubled', '.',
];
export const REPLY_TEXT = REPLY_TOKENS.join('');

export async function startUpstream ({ delayMs = 1 } = {}) {
  const app = express();
  // generations: in all; byPrompt: by the last message's text.
  const state = { generations: 0, byPrompt: new Map() };
  app.use(express.json());

  app.get('/v1/models', (req, res) => {
    res.json({ object: 'list', data: [{ id: 'fake-model', object: 'model' }] });
  });

  app.post('/v1/chat/completions', async (req, res) => {
    state.generations++;
    const prompt = req.body?.messages?.at(-1)?.content ?? '';
    state.byPrompt.set(prompt, (state.byPrompt.get(prompt) ?? 0) + 1);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    const chunk = delta => ({
      id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'fake-model',
      choices: [{ index: 0, delta, finish_reason: null }],
    });
    res.write(`data: ${JSON.stringify(chunk({ role: 'assistant', content: '' }))}\n\n`);
    for (const token of REPLY_TOKENS) {
      if (res.destroyed)
        return;
      res.write(`data: ${JSON.stringify(chunk({ content: token }))}\n\n`);
      await new Promise(resolve => setTimeout(resolve, delayMs));
    }
    res.write(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'fake-model',
                                        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    res.write('data: [DONE]\n\n');
    res.end();
  });

  const server = await new Promise(resolve => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    state,
    stop: () => new Promise(resolve => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
