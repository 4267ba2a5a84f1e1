import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_NODE_MAJOR, nodeVersionProblem } from '../../src/cli/node-version.js';

test('Node 22 and newer are accepted, older ones refused with what to install', () => {
  assert.equal(MIN_NODE_MAJOR, 22);
  for (const v of ['v22.0.0', 'v22.12.1', 'v24.22.3', 'v30.1.0']) assert.equal(nodeVersionProblem(v), undefined, v);
  for (const v of ['v20.20.2', 'v18.19.0', 'v21.7.3']) {
    const problem = nodeVersionProblem(v);
    assert.ok(problem, v);
    assert.match(problem, new RegExp(`needs Node\\.js 22 or newer; this is Node\\.js ${v.replace(/\./g, '\\.')}\\. Install`));
  }
  assert.ok(nodeVersionProblem('garbage'), 'an unreadable version is refused, not waved through');
});
