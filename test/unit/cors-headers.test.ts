// The CORS rules of src/http/headers.ts, one per test, against exact header values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { corsHeaders } from '../../src/http/headers.js';

describe('corsHeaders', () => {
  it('echoes an origin, with credentials', () => {
    assert.deepEqual(corsHeaders('http://app.example', ''), {
      'Access-Control-Allow-Origin': 'http://app.example',
      'Access-Control-Allow-Credentials': 'true',
    });
  });

  it('answers Origin: null with null and credentials, never *', () => {
    assert.deepEqual(corsHeaders('null', ''), {
      'Access-Control-Allow-Origin': 'null',
      'Access-Control-Allow-Credentials': 'true',
    });
  });

  it('answers a request without Origin with * and no credentials header', () => {
    assert.deepEqual(corsHeaders('', ''), { 'Access-Control-Allow-Origin': '*' });
  });

  it('never pairs * with credentials, whatever the origin', () => {
    for (const origin of ['', 'null', 'test', '*', 'http://a.example:8080', 'file://']) {
      const headers = corsHeaders(origin, 'x-a');
      const star = headers['Access-Control-Allow-Origin'] === '*';
      assert.ok(!(star && headers['Access-Control-Allow-Credentials']), `origin ${JSON.stringify(origin)}`);
    }
  });

  it('echoes requested headers, and only when some were requested', () => {
    assert.equal(corsHeaders('test', 'a, b, c')['Access-Control-Allow-Headers'], 'a, b, c');
    assert.equal(corsHeaders('', 'x-a')['Access-Control-Allow-Headers'], 'x-a');
    assert.equal('Access-Control-Allow-Headers' in corsHeaders('test', ''), false);
  });
});
