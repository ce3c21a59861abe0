import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redactor } from '../lib/core/redact.ts';

test('blanks every one of thousands of secrets wherever it appears, and leaves other text alone', () => {
  const redactor = new Redactor();
  const secrets = Array.from({ length: 5000 }, () => randomBytes(30).toString('base64url'));
  for (const secret of secrets) redactor.add(secret);
  assert.is(redactor.redact(`first ${secrets[0]}, last ${secrets[4999]}${secrets[4999]}.`), 'first ***, last ******.');
  assert.is(redactor.redact('nothing to hide here'), 'nothing to hide here');
});

test('two secrets with the same beginning: the longer one is blanked whole', () => {
  const redactor = new Redactor();
  redactor.add('s3cr3t-value');
  redactor.add('s3cr3t-value-and-more');
  assert.is(redactor.redact('a s3cr3t-value-and-more b s3cr3t-value c'), 'a *** b *** c');
});

test('values shorter than 8 characters are not secrets (they would blank ordinary words)', () => {
  const redactor = new Redactor();
  redactor.add('short');
  redactor.add(undefined);
  assert.is(redactor.redact('a short word'), 'a short word');
});

test.run();
