/** A path router for the emulators: each serves a handful of routes, so no framework. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}
export type RouteHandler = (ctx: RouteContext) => Promise<void> | void;

/** Matches `METHOD /path/:param` patterns in order; unmatched requests go to `notFound`. */
export class Router {
  readonly #routes: Array<{ method: string; pattern: RegExp; keys: string[]; handler: RouteHandler }> = [];

  on(method: string, path: string, handler: RouteHandler): this {
    const keys: string[] = [];
    const source = path.replace(/:(\w+)/g, (_match, key: string) => {
      keys.push(key);
      return '([^/]+)';
    });
    this.#routes.push({ method, pattern: new RegExp(`^${source}/?$`), keys, handler });
    return this;
  }

  /** Finds the route; returns undefined when none matches the path (405 is reported as 404, as Jira does). */
  match(method: string, pathname: string): { handler: RouteHandler; params: Record<string, string> } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(pathname);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeURIComponent(found[i + 1] ?? '')));
      return { handler: route.handler, params };
    }
    return undefined;
  }
}
