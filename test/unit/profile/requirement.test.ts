import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requirementProblem } from '../../../scripts/lib/profile/requirement.ts';

describe('python.packages entries as PEP 508 requirements', () => {
  for (const good of ['numpy', 'pandas>=2,<3', 'rich[jupyter]==13.7.1', 'scikit-learn ~= 1.5', 'requests (>=2.31)', 'tomli; python_version < "3.11"', 'pkg @ https://example.org/pkg-1.0-py3-none-any.whl', 'pkg @ https://example.org/pkg.whl ; sys_platform == "linux"', 'zope.interface', 'a===1.0']) {
    it(`takes ${good}`, () => assert.equal(requirementProblem(good), undefined));
  }
  const bad: [string, RegExp][] = [
    ['--index-url=http://host/simple', /pip option/],
    ['-e /path/to/src', /pip option/],
    ['-r requirements.txt', /pip option/],
    ['./local/pkg', /path or a URL/],
    ['/abs/pkg.whl', /path or a URL/],
    ['https://example.org/pkg.whl', /path or a URL/],
    ['pkg @ http://example.org/pkg.whl', /not a PEP 508 requirement/],
    ['pkg @ file:///tmp/pkg.whl', /not a PEP 508 requirement/],
    ['numpy\nRUN echo INJECTED', /control character/],
    ['numpy; rm -rf /', /not a PEP 508 requirement/],
    ['numpy && curl evil', /not a PEP 508 requirement/],
    ['x'.repeat(600), /at most 512/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text.slice(0, 40))}`, () => assert.match(requirementProblem(text) ?? 'accepted', message));
  }
});
