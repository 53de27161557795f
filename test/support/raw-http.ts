/** One HTTP request with exactly the headers given (fetch will not send a foreign Host), for tests of the API's refusals. */
import * as http from 'node:http';

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: { error?: { code: string; message: string; details?: Record<string, unknown> } } & Record<string, unknown>;
}

/** One request with exactly the given headers (fetch will not send a foreign Host); host '' sends none. */
export function raw(address: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const { host, ...rest } = headers;
    const all = { ...rest, ...(host === undefined || host === '' ? {} : { host }), ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) };
    const req = http.request(`http://${address}${path}`, { method, headers: all, setHost: host !== '' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text === '' ? {} : JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
export const jsonBody = { 'content-type': 'application/json' };
