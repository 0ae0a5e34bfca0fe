// Sends events, in order, to every target; a failure is reported, never thrown: a notification never fails a deploy.
import type { NotifyEvent } from "./events.js";
import { requestsFor, type NotifyConfig, type NotifyRequest, type NotifySecrets } from "./targets.js";

/** A POST, as fetch makes it; tests pass their own. */
export type Post = (request: NotifyRequest, signal: AbortSignal) => Promise<{ status: number; body: string }>;

const TIMEOUT_MS = 10_000;

export const postWithFetch: Post = async (request, signal) => {
  const response = await fetch(request.url, { method: "POST", headers: request.headers, body: request.body, signal, redirect: "error" });
  return { status: response.status, body: await response.text() };
};

export class Notifier {
  private queue: Promise<void> = Promise.resolve();
  private readonly config: NotifyConfig;
  private readonly secrets: NotifySecrets;
  private readonly report: (problem: string) => void;
  private readonly post: Post;

  constructor(config: NotifyConfig, secrets: NotifySecrets, report: (problem: string) => void, post: Post = postWithFetch) {
    this.config = config;
    this.secrets = secrets;
    this.report = report;
    this.post = post;
  }

  /** Queues the event: sends keep the order events came in. */
  send(event: NotifyEvent): void {
    for (const request of requestsFor(event, this.config, this.secrets)) {
      this.queue = this.queue.then(() => this.deliver(event, request));
    }
  }

  /** Resolves once every queued event was sent or reported. */
  flush(): Promise<void> {
    return this.queue;
  }

  private async deliver(event: NotifyEvent, request: NotifyRequest): Promise<void> {
    const problem = await attempt(request, this.post);
    // The reason names the target, never its URL or token: both are secrets.
    if (problem !== undefined) this.report(`${request.target}: ${event.event} not sent: ${problem}`);
  }
}

async function attempt(request: NotifyRequest, post: Post): Promise<string | undefined> {
  try {
    const { status, body } = await post(request, AbortSignal.timeout(TIMEOUT_MS));
    if (status < 200 || status > 299) return `HTTP ${status}`;
    if (request.isSlackApi) {
      const answer = parseAnswer(body);
      if (answer?.ok !== true) return `Slack answered ${typeof answer?.error === "string" ? answer.error : "without ok"}`;
    }
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    if ((error as Error).name === "TimeoutError") return `no answer within ${TIMEOUT_MS / 1000}s`;
    return typeof cause?.code === "string" ? cause.code : (error as Error).name;
  }
}

function parseAnswer(body: string): { ok?: unknown; error?: unknown } | undefined {
  try {
    const value = JSON.parse(body) as unknown;
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
