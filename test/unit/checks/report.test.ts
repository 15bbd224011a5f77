import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { APIConnectionTimeoutError } from 'openai';
import { junitXml, runChecks, skip } from '../../../checks/report.ts';

describe('the smoke report as JUnit XML', () => {
  const outcomes = [
    { name: 'models', ok: true, ms: 12, detail: 'lists smollm2-135m-instruct' },
    { name: 'chat', ok: false, ms: 1500, detail: 'HTTP 500: Input should be "text" or <json_object> & more\nsecond line\u0007' },
  ];

  it('has one testcase per check and a failure with what the server answered, escaped', () => {
    const xml = junitXml('llm-workbench smoke (default, http://127.0.0.1:8080/v1)', outcomes, '2026-12-04T00:00:00.000Z');
    assert.match(xml, /<testsuite name="llm-workbench smoke \(default, http:\/\/127\.0\.0\.1:8080\/v1\)" tests="2" failures="1" errors="0" skipped="0" time="1\.512"/);
    assert.match(xml, /<testcase classname="[^"]+" name="models" time="0\.012">\n {4}<system-out>lists smollm2-135m-instruct<\/system-out>/);
    assert.match(xml, /<failure message="HTTP 500: Input should be &quot;text&quot; or &lt;json_object&gt; &amp; more">HTTP 500: .*\nsecond line<\/failure>/);
  });

  it('is well-formed XML that a JUnit reader parses', async () => {
    const xml = junitXml('suite', outcomes, 'now');
    const parsed = await execa('python3', ['-c', 'import sys, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read()); print(len(r.findall("testcase")), len(r.findall("testcase/failure")))'], { input: xml });
    assert.equal(parsed.stdout, '2 1');
  });
});

describe('a check that does not apply', () => {
  it('is reported as skipped with its reason, in the lines, the JSON outcomes and JUnit, and is no failure', async () => {
    const lines: string[] = [];
    const outcomes = await runChecks(
      [
        { name: 'chat', run: async () => 'answered' },
        { name: 'tools', run: async () => skip("not supported by this model's template: set model.chat_format") },
        { name: 'broken', run: async () => { throw new Error('boom'); } },
      ],
      (line) => lines.push(line),
    );
    assert.deepEqual(outcomes.map((o) => [o.name, o.ok, o.skipped ?? false]), [['chat', true, false], ['tools', true, true], ['broken', false, false]]);
    assert.match(lines[1]!, /^skip {2}tools .* not supported by this model's template: set model\.chat_format$/);
    const xml = junitXml('suite', outcomes, 'now');
    assert.match(xml, /tests="3" failures="1" errors="0" skipped="1"/);
    assert.match(xml, /name="tools" time="[\d.]+">\n {4}<skipped message="not supported by this model&apos;s template|name="tools" time="[\d.]+">\n {4}<skipped message="not supported by this model's template/);
  });
});

describe('a request that got no answer', () => {
  it('says how long it waited and why that happens, not the SDK\'s "Request timed out."', async () => {
    const [outcome] = await runChecks([{ name: 'embeddings', run: async () => { throw new APIConnectionTimeoutError(); } }], () => {});
    assert.equal(outcome!.ok, false);
    assert.equal(outcome!.detail, 'no answer within 120 s (SMOKE_TIMEOUT): the server is busy or hung (make status says which); given up, not retried');
  });
});
