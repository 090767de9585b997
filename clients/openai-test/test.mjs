// Cairn's OpenAI-compatible API, through the official openai package.
// Run by api/openai_node_test.go, which starts a Cairn server with a
// knowledge base (/kb/geo/paris.txt, /handbook/leave.txt) and sets
// CAIRN_OPENAI_BASE_URL and CAIRN_API_KEY.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';

const baseURL = process.env.CAIRN_OPENAI_BASE_URL;
const apiKey = process.env.CAIRN_API_KEY;
assert.ok(baseURL && apiKey, 'CAIRN_OPENAI_BASE_URL and CAIRN_API_KEY must be set');

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });
const question = 'What is the capital of France?';

function checkCitations(citations) {
  assert.ok(Array.isArray(citations) && citations.length > 0, 'citations are present');
  for (const c of citations) {
    assert.match(c.chunk_id, /^[0-9a-f-]{36}$/);
    assert.equal(typeof c.quote, 'string');
    assert.equal(c.document_name, 'paris.txt');
    assert.equal(c.version_number, 1);
    assert.ok(c.materialized_path.startsWith('/kb/geo/paris.txt/'), c.materialized_path);
    assert.equal([...c.quote].length, c.length, 'length counts code points');
  }
}

test('lists the scopes as models and retrieves one', async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    assert.equal(m.object, 'model');
    ids.push(m.id);
  }
  assert.deepEqual(ids, ['cairn', 'cairn:/handbook', 'cairn:/kb']);
  const m = await client.models.retrieve('cairn:/kb/geo');
  assert.equal(m.id, 'cairn:/kb/geo');
  assert.equal(m.path_prefix, '/kb/geo');
});

let plain;

test('a non-streamed completion has markers, citations and usage', async () => {
  plain = await client.chat.completions.create({
    model: 'cairn',
    messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: question }],
    temperature: 0,
    user: 'node-test',
  });
  assert.equal(plain.object, 'chat.completion');
  const [choice] = plain.choices;
  assert.equal(choice.finish_reason, 'stop');
  assert.equal(choice.message.role, 'assistant');
  assert.match(choice.message.content, /Paris is the capital/);
  assert.match(choice.message.content, /\[1\]/);
  checkCitations(choice.message.citations);
  assert.ok(plain.usage.prompt_tokens > 0 && plain.usage.completion_tokens > 0);
  assert.equal(plain.usage.total_tokens, plain.usage.prompt_tokens + plain.usage.completion_tokens);
});

test('a streamed completion sends deltas, then citations in the final chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'cairn',
    messages: [{ role: 'user', content: question }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let deltas = 0;
  let chunks = 0;
  let final;
  let usage;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta.content) {
        text += choice.delta.content;
        deltas++;
      }
      if (choice.finish_reason) final = choice;
    }
  }
  // role, content piece(s) (one per cited sentence offline), final, usage
  assert.ok(deltas >= 1 && chunks >= deltas + 3, `chunks ${chunks}, content deltas ${deltas}`);
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(final.finish_reason, 'stop');
  checkCitations(final.delta.citations);
  assert.deepEqual(final.delta.citations, plain.choices[0].message.citations);
  assert.equal(usage.completion_tokens, plain.usage.completion_tokens);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
});

test('the stream helper puts the citations on the final message', async () => {
  const runner = client.chat.completions.stream({ model: 'cairn', messages: [{ role: 'user', content: question }] });
  const done = await runner.finalChatCompletion();
  assert.equal(done.choices[0].message.content, plain.choices[0].message.content);
  checkCitations(done.choices[0].message.citations);
});

test('a tool-role message in the history is accepted', async () => {
  const res = await client.chat.completions.create({
    model: 'cairn:/kb',
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 21 °C.' },
      { role: 'assistant', content: 'It is sunny in Paris.' },
      { role: 'user', content: [{ type: 'text', text: question }] },
    ],
    tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } }],
  });
  assert.match(res.choices[0].message.content, /Paris is the capital/);
  checkCitations(res.choices[0].message.citations);
  assert.ok(res.usage.prompt_tokens > plain.usage.prompt_tokens);
});

test('max_tokens truncates with finish_reason length', async () => {
  const res = await client.chat.completions.create({ model: 'cairn', messages: [{ role: 'user', content: question }], max_tokens: 3 });
  assert.equal(res.choices[0].finish_reason, 'length');
  assert.equal(res.choices[0].message.content, 'Paris is the');
});

test('an unknown model is a 404 model_not_found', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: question }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, String(err));
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.param, 'model');
      assert.equal(err.type, 'invalid_request_error');
      return true;
    },
  );
});

test('bad input and a wrong key are OpenAI errors', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'cairn', messages: [{ role: 'user', content: question }], n: 2 }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'n' && err.code === 'validation_failed',
  );
  const stranger = new OpenAI({ baseURL, apiKey: 'cairn_not_a_key', maxRetries: 0 });
  await assert.rejects(stranger.models.list(), (err) => err instanceof OpenAI.AuthenticationError && err.status === 401);
});
