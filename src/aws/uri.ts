/**
 * The AWS parameters of a URI on the command line or in the config (`kinesis://NAME?…`,
 * `s3://BUCKET/PREFIX?…`), checked when it is read so that a typo is a usage error rather than a
 * failed AWS call an hour into a run. No SDK is loaded here.
 */
import type { StorepulseError } from '../core/errors.js';

export interface AwsUriParams {
  region?: string;
  endpoint?: string;
}

/** `region` and `endpoint` (an http(s) URL); any other parameter is refused through `bad`. */
export function awsUriParams(params: URLSearchParams, bad: (why: string) => StorepulseError): AwsUriParams {
  const out: AwsUriParams = {};
  for (const [key, value] of params) {
    if (key === 'region') {
      if (!/^[a-z0-9-]+$/.test(value)) throw bad(`bad region "${value}"`);
      out.region = value;
    } else if (key === 'endpoint') {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw bad(`bad endpoint "${value}"`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw bad(`endpoint "${value}" is not an http(s) URL`);
      }
      out.endpoint = value;
    } else {
      throw bad(`unknown parameter ${key}`);
    }
  }
  return out;
}
