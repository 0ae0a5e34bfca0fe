// `plc completion bash|zsh`: a completion script walked from the commander program itself.
import { Argument, type Command } from "commander";
import type { Run } from "./options.js";

export function register(program: Command, run: Run): void {
  program
    .command("completion")
    .description("print a bash or zsh completion script: source <(plc completion bash)")
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]))
    .action((shell: "bash" | "zsh") =>
      run(async () => {
        const { bashCompletion, describeProgram, variableWords, zshCompletion } = await import("../completion.js");
        // Walked now, not at registration: every command is registered by the time one runs.
        const tree = describeProgram(program, variableWords(process.cwd()));
        process.stdout.write(shell === "bash" ? bashCompletion(tree) : zshCompletion(tree));
      }),
    );
}
