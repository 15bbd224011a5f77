/**
 * `python.packages` entries as PEP 508 requirements, and nothing else. Each one reaches pip's
 * argv, a conda environment.yml and a Dockerfile RUN line: an entry that starts with "-" is an
 * option to pip (`--index-url=http://elsewhere`, `-e /path`), a path or a bare URL installs code
 * from anywhere, and a newline ends the RUN instruction so the next line is one of its own
 * (shell quotes do not hold across lines in a Dockerfile).
 */

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?';
const EXTRAS = `\\[\\s*(?:${NAME}(?:\\s*,\\s*${NAME})*)?\\s*\\]`;
const VERSION = '[A-Za-z0-9.*+!_-]+';
const CLAUSE = `(?:~=|===|==|!=|<=|>=|<|>)\\s*${VERSION}`;
const SPECIFIERS = `${CLAUSE}(?:\\s*,\\s*${CLAUSE})*`;
/** `name @ https://host/path`: the one URL form allowed, and only over https. */
const URL_SPEC = '@\\s*https://[^\\s;]+';
/** Environment markers: variables, quoted strings, comparisons, and/or, parentheses; one line. */
const MARKER = `;\\s*[A-Za-z0-9_.'"<>=!~()\\s-]+`;

const REQUIREMENT = new RegExp(
  `^${NAME}\\s*(?:${EXTRAS})?\\s*(?:\\(\\s*${SPECIFIERS}\\s*\\)|${SPECIFIERS}|${URL_SPEC}\\s)?\\s*(?:${MARKER})?$`,
);

/** The longest entry we take: real requirements are short, and a 10 kB one is a mistake. */
export const MAX_REQUIREMENT_LENGTH = 512;

/** Why `text` is not a requirement pip may be handed, or undefined when it is one. */
export function requirementProblem(text: string): string | undefined {
  if (text.length > MAX_REQUIREMENT_LENGTH) return `is ${text.length} characters long; a requirement is a name and a version, at most ${MAX_REQUIREMENT_LENGTH}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'holds a control character (a newline?): write one requirement per list item';
  if (text.startsWith('-')) return `"${text}" is a pip option, not a package: options (another index, -e, -r) cannot come from a profile`;
  if (/^(?:[./~]|[A-Za-z][A-Za-z0-9+.-]*:)/.test(text) && !/^[A-Za-z0-9._-]+\s*(?:\[|@|;|$)/.test(text)) {
    return `"${text}" is a path or a URL: write "name @ https://..." for a package from a URL`;
  }
  // The URL form needs a space before a marker (PEP 508); `\s` in URL_SPEC demands one, so retry with a trailing space.
  if (REQUIREMENT.test(text) || (/@/.test(text) && !/;/.test(text) && REQUIREMENT.test(`${text} `))) return undefined;
  return `"${text}" is not a PEP 508 requirement such as "numpy", "pandas>=2,<3", "rich[jupyter]==13.7.1" or "name @ https://..."`;
}
