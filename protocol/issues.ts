import type * as v from 'valibot';

type Issue = v.BaseIssue<unknown>;

/** Valibot issues as one line each, naming the path and never echoing the input value. */
export function describeIssues(issues: readonly Issue[], root?: string): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      let keys = (issue.path ?? []).map((item) => String(item.key));
      // An unknown key's issue points at the key itself; name the object that holds it, as the message names the key.
      if (isUnknownKey(issue)) keys = keys.slice(0, -1);
      const path = [root, ...keys].filter((p) => p !== undefined && p !== '').join('.');
      return `${path || '(frame)'}: ${describeIssue(issue)}`;
    })
    .join('; ');
}

/** What each schema type expects, as "must be …" says it. */
const NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  strict_object: 'an object',
  loose_object: 'an object',
  record: 'an object',
  array: 'an array',
  null: 'null',
};

/** A strict object's first key it does not know: the issue's input is the key's name, never its value. */
function isUnknownKey(issue: Issue): boolean {
  return issue.type === 'strict_object' && issue.expected === 'never';
}

/** A key an object needs and the input lacks: the issue expects its quoted name. */
function isMissingKey(issue: Issue): boolean {
  return (issue.type === 'object' || issue.type === 'strict_object' || issue.type === 'loose_object') && issue.expected?.startsWith('"') === true;
}

/** The message the schema gave the check, or undefined for valibot's default one (which quotes the input). */
function ownMessage(issue: Issue): string | undefined {
  return /^Invalid \w+: /.test(issue.message) ? undefined : issue.message;
}

function describeIssue(issue: Issue): string {
  if (isUnknownKey(issue)) return `unknown key ${String(issue.input)}`;
  if (isMissingKey(issue)) return 'is required';
  const input = issue.input;
  const unit = typeof input === 'string' ? 'characters' : 'items';
  const sized = typeof input === 'string' || Array.isArray(input);
  switch (issue.type) {
    case 'integer':
      return 'must be a whole number';
    case 'min_value':
      return `must be at least ${String(issue.requirement)}`;
    case 'max_value':
      return `must be at most ${String(issue.requirement)}`;
    case 'min_length':
      return sized ? `must have at least ${String(issue.requirement)} ${unit}` : 'is invalid';
    case 'max_length':
      return sized ? `must have at most ${String(issue.requirement)} ${unit}` : 'is invalid';
    case 'length':
      if (!sized) return 'is invalid';
      return (input as string | unknown[]).length < Number(issue.requirement)
        ? `must have at least ${String(issue.requirement)} ${unit}`
        : `must have at most ${String(issue.requirement)} ${unit}`;
    case 'literal':
    case 'picklist':
    case 'enum':
      // `expected` lists the allowed values (JSON-quoted, joined by " | ", in parentheses), never the input.
      return `must be one of ${(issue.expected ?? '')
        .replace(/^\((.*)\)$/, '$1')
        .split(' | ')
        .join(', ')}`;
    case 'union':
    case 'variant':
      return 'does not match any allowed shape';
    case 'url':
      return ownMessage(issue) ?? 'must be a valid URL';
  }
  if (issue.kind === 'schema') {
    const noun = NOUNS[issue.type];
    if (noun) return `must be ${noun}`;
  }
  return ownMessage(issue) ?? 'is invalid';
}
