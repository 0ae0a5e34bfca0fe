// The CI job a ship runs in, from the variables GitHub Actions and GitLab CI set: playlabs' messages
// carried the job URL, the commit, its author and its message.

export interface CiContext {
  provider: "github" | "gitlab";
  jobUrl: string | undefined;
  commit: string | undefined;
  author: string | undefined;
  message: string | undefined;
}

/** The job of this process's environment, or undefined outside CI. `readEvent` reads GitHub's event payload file. */
export function readCiContext(env: NodeJS.ProcessEnv, readEvent: (path: string) => string | undefined): CiContext | undefined {
  const value = (key: string): string | undefined => {
    const text = env[key];
    return text === undefined || text === "" ? undefined : text;
  };
  if (value("GITLAB_CI") !== undefined) {
    return {
      provider: "gitlab",
      jobUrl: value("CI_JOB_URL"),
      commit: value("CI_COMMIT_SHA"),
      author: value("GITLAB_USER_LOGIN") ?? value("CI_COMMIT_AUTHOR"),
      message: value("CI_COMMIT_MESSAGE")?.trimEnd(),
    };
  }
  if (value("GITHUB_ACTIONS") !== undefined) {
    const server = value("GITHUB_SERVER_URL") ?? "https://github.com";
    const repository = value("GITHUB_REPOSITORY");
    const run = value("GITHUB_RUN_ID");
    // The commit message is not a variable on GitHub: the push event's payload file holds it.
    const eventPath = value("GITHUB_EVENT_PATH");
    return {
      provider: "github",
      jobUrl: repository === undefined || run === undefined ? undefined : `${server}/${repository}/actions/runs/${run}`,
      commit: value("GITHUB_SHA"),
      author: value("GITHUB_ACTOR"),
      message: eventPath === undefined ? undefined : headCommitMessage(readEvent(eventPath)),
    };
  }
  return undefined;
}

function headCommitMessage(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const payload = JSON.parse(text) as { head_commit?: { message?: unknown } } | null;
    const message = payload?.head_commit?.message;
    return typeof message === "string" && message !== "" ? message.trimEnd() : undefined;
  } catch {
    return undefined;
  }
}
