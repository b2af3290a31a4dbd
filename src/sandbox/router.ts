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
  readonly #routes: Array<{ method: string; path: string; pattern: RegExp; keys: string[]; handler: RouteHandler }> =
    [];
  /** Requests matched so far, by route (`GET /rest/api/3/issue/:key/changelog`). */
  readonly served = new Map<string, number>();

  on(method: string, path: string, handler: RouteHandler): this {
    const keys: string[] = [];
    const source = path.replace(/:(\w+)/g, (_match, key: string) => {
      keys.push(key);
      return '([^/]+)';
    });
    this.#routes.push({ method, path, pattern: new RegExp(`^${source}/?$`), keys, handler });
    return this;
  }

  /** Finds the route; returns undefined when none matches the path (405 is reported as 404, as Jira does). */
  match(
    method: string,
    pathname: string,
  ): { name: string; handler: RouteHandler; params: Record<string, string> } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(pathname);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeURIComponent(found[i + 1] ?? '')));
      const name = `${method} ${route.path}`;
      this.served.set(name, (this.served.get(name) ?? 0) + 1);
      return { name, handler: route.handler, params };
    }
    return undefined;
  }
}
