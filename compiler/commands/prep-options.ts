// The options that shape a prep bundle (plc init user@host, plc install, plc build --prep): commander
// only, so registering the commands loads nothing of compiler/prep.
import type { Command } from "commander";
import { collect } from "./options.js";

export function withPrepOptions(command: Command, isBuild = false): Command {
  if (!isBuild) command.option("-i, --inventory <dir>", "inventory directory: users, users_remove, deploy_user, keys/<name>.pub");
  return command
    .option("-u, --user <name>", "init: the login user to create (default $USER)")
    .option("--key <file.pub>", "init: your public key (default ~/.ssh/id_ed25519.pub, id_ecdsa.pub, id_rsa.pub)")
    .option("--signer <file.pub>", "deploy: a public key allowed to sign bundles (plc sign --key …; repeatable)", collect, [])
    .option("--deploy-key <file.pub>", "deploy: the deploy user's key (default the inventory's keys/<deploy_user>.pub)")
    .option("--ssh-port <port>", "the ssh port the firewall keeps open (default the target's, else 22)");
}
