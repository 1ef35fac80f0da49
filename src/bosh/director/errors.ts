// Director answers that are failures, turned into BoshErrors that say what to check.
import { BoshError, EnvironmentConfig } from '../types';
import type { Resp } from './transport';

/** Where the operator sets the client credentials, for messages. */
export function credentialsAdvice(env: EnvironmentConfig): string {
  return env.source === 'settings'
    ? `the client of the '${env.name}' environment and its stored secret`
    : 'BOSH_CLIENT and BOSH_CLIENT_SECRET (or bosh log-in)';
}

export function parseJsonBody<T>(r: Resp, what: string): T {
  try {
    return JSON.parse(r.body) as T;
  } catch {
    throw new BoshError(
      'protocol',
      `Unmarshaling Director response (${what}): not JSON: '${r.body.slice(0, 200)}'`,
      r.status,
    );
  }
}

function directorErrorBody(body: string): { code?: number; description?: string } {
  try {
    const j = JSON.parse(body) as { code?: unknown; description?: unknown };
    if (j && typeof j === 'object') {
      return {
        code: typeof j.code === 'number' ? j.code : undefined,
        description: typeof j.description === 'string' ? j.description : undefined,
      };
    }
  } catch {
    /* plain text body */
  }
  return {};
}

/** The error for a Director answer that is not a success. */
export function httpError(env: EnvironmentConfig, r: Resp, method: string, path: string): BoshError {
  const { code, description } = directorErrorBody(r.body);
  const text = description ?? r.body.trim().slice(0, 500);
  if (r.status === 404 && code !== undefined) {
    return new BoshError(
      'not-found',
      `${text} (Director at ${env.url}, ${method} ${path}: 404, code ${code}). Check the name (bosh deployments / bosh instances).`,
      404,
      code,
    );
  }
  if (r.status === 401) {
    return new BoshError(
      'auth',
      `The Director at ${env.url} refused the credentials (${method} ${path}: 401 ${text}). Check ${credentialsAdvice(env)}.`,
      401,
      code,
    );
  }
  if (r.status === 403 || code === 600000) {
    return new BoshError(
      'auth',
      `The Director at ${env.url} denied access (${method} ${path}: ${r.status} ${text}). The client needs the bosh.admin scope (or the deployment's team scope).`,
      r.status,
      code,
    );
  }
  return new BoshError(
    'director',
    `Director at ${env.url} responded with status ${r.status} to ${method} ${path}${code !== undefined ? ` (code ${code})` : ''}: ${text || '(empty body)'}`,
    r.status,
    code,
  );
}
