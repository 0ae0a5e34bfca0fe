// The template lint (compiler/render/template-lint.ts) over every built-in template, and one bad snippet per rule.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { textOf } from "../compiler/diagnostics.js";
import { lintTemplate } from "../compiler/render/template-lint.js";
import { ROOT } from "./fixtures.js";

function templates(): string[] {
  const dirs = [join(ROOT, "compiler", "render", "templates")];
  const plugins = join(ROOT, "plugins");
  if (existsSync(plugins)) for (const name of readdirSync(plugins)) dirs.push(join(plugins, name));
  return dirs.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ejs")).map((file) => relative(ROOT, join(dir, file)))
      : [],
  );
}

function lint(source: string, file = "hook/deploy.pre.sh.ejs"): string[] {
  return lintTemplate(source, file).map((d) => `${String(d.origin?.kind === "file" ? d.origin.line : 0)}: ${textOf(d).message}`);
}

describe("the built-in templates", () => {
  it("print values only as whole words of the right quoting helper", () => {
    const files = templates();
    assert.ok(files.length > 20);
    const offences: string[] = [];
    for (const file of files) {
      const found = lintTemplate(readFileSync(join(ROOT, file), "utf8"), file);
      for (const d of found) offences.push(`${file}:${d.origin?.kind === "file" ? String(d.origin.line) : "?"}: ${textOf(d).message}`);
    }
    assert.deepEqual(offences, []);
  });
});

describe("each lint rule fires", () => {
  it("accepts whole words, assignments, lists, includes and the helper of a quoted heredoc's language", () => {
    assert.deepEqual(
      lint(`name=<%- sh(spec.name) %>
<%- include('_header.sh.ejs') -%>
<%- include('install/1-prerequisites.sh.ejs') -%>
docker run --name <%- sh(spec.name) %> \\
  <%- sh(\`type=bind,source=\${spec.home}/log\`) %> >/dev/null
for tool in <%- requiredTools.map(sh).join(" ") %>; do :; done
x=$(printf '%s' <%- sh(spec.image) %>)
case $1 in <%- sh(spec.name) %>) ;; esac
<% if (hasVhost) { %>--header <%- sh(spec.name) %> <% } %><%- sh(healthUrl) %> || true
python <<'PY' || die <%- sh("no python") %>
print(<%- py(spec.name) %>)
PY
`),
      [],
    );
  });

  const cases: [string, string, RegExp][] = [
    ["<%= HTML escaping", `echo <%= spec.name %>\n`, /<%= escapes for HTML/],
    ["a raw value", `echo <%- spec.name %>\n`, /a raw value/],
    ["a helper's output concatenated in JavaScript", `echo <%- sh(spec.name) + spec.image %>\n`, /concatenated/],
    ["an unclosed helper call", `echo <%- sh(spec.name %>\n`, /does not close/],
    ["a list joined by something else than a space", `echo <%- requiredTools.map(sh).join(";") %>\n`, /a raw value/],
    ["a scriptlet that writes output itself", `<% __append(spec.name) %>\n`, /writes output itself/],
    ["an include with a computed name", `<%- include(spec.name) %>\n`, /literal name/],
    ["an include of the parent folder", `<%- include('../x.ejs') %>\n`, /literal name/],
    ["an include that climbs out of a subfolder", `<%- include('install/../../x.ejs') %>\n`, /literal name/],
    ["an include of an absolute path", `<%- include('/etc/x.ejs') %>\n`, /literal name/],
    ["an include inside a line", `echo <%- include('_lock.sh.ejs') %>\n`, /stands alone/],
    ["C29: inside double quotes", `say "waiting for <%- sh(healthUrl) %>"\n`, /inside "…"/],
    ["inside $(…) inside double quotes", `if [ -n "$(ls -A <%- sh(spec.home) %>)" ]; then :; fi\n`, /inside "…"/],
    ["inside single quotes", `say 'waiting for <%- sh(healthUrl) %>'\n`, /inside '…'/],
    ["inside backticks", "x=`echo <%- sh(healthUrl) %>`\n", /inside `…`/],
    ["inside ${…}", `x=\${y:-<%- sh(healthUrl) %>}\n`, /inside \$\{…\}/],
    ["inside $((…))", `x=$(($(date +%s) + <%- sh(spec.healthcheckTimeout) %>))\n`, /inside \$\(\(…\)\)/],
    ["in a comment", `# for <%- sh(spec.name) %>\n`, /in a comment/],
    ["C33: glued to a literal prefix", `rm -f /etc/nginx/sites-enabled/<%- sh(vhostFile) %>\n`, /glued to "\/etc\/nginx\/sites-enabled\/" before/],
    ["glued to a quoted prefix", `. "$here"/<%- sh(hook.path) %>\n`, /glued to "\\"\/" before/],
    ["glued to a suffix", `cat <%- sh(spec.home) %>/docker-image\n`, /glued to "\/docker-image" after/],
    ["glued to another tag", `echo <%- sh(spec.home) %><%- sh(spec.name) %>\n`, /glued to the next tag/],
    ["glued across a trimmed newline", `echo <%- sh(spec.home) -%>\nx\n`, /glued to "x" after/],
    ["an argument of eval", `eval <%- sh(spec.name) %>\n`, /argument of eval/],
    ["the code string of sh -c", `docker exec x sh -c <%- sh(spec.name) %>\n`, /code string of a shell's -c/],
    ["the code string of su -c, options joined", `su app -lc <%- sh(spec.name) %>\n`, /code string of a shell's -c/],
    ["an argument of eval after a keyword", `if true; then eval <%- sh(spec.name) %>; fi\n`, /argument of eval/],
    ["an unquoted heredoc", `cat <<EOF\n<%- sh(spec.name) %>\nEOF\n`, /unquoted heredoc <<EOF/],
    ["a quoted heredoc of no known language", `cat <<'EOF'\n<%- sh(spec.name) %>\nEOF\n`, /whose language has no helper/],
    ["the wrong helper in a heredoc", `python <<'PY'\nx = <%- sh(spec.name) %>\nPY\n`, /only py\(\) quotes for it/],
    ["another language's helper in shell", `x=<%- py(spec.name) %>\n`, /py\(\) is not shell quoting/],
    ["set -x", `set -eux\n`, /set -x or -v/],
    ["set -o xtrace", `  set -o xtrace\n`, /set -x or -v/],
  ];
  for (const [name, source, expected] of cases) {
    it(name, () => {
      const found = lint(source);
      assert.ok(found.some((line) => expected.test(line)), `${JSON.stringify(source)} gave ${JSON.stringify(found)}`);
    });
  }

  it("names the line and column of the tag", () => {
    const [found] = lintTemplate(`#!/bin/sh\nsay "x <%- sh(healthUrl) %>"\n`, "p/deploy.pre.sh.ejs");
    assert.deepEqual(found?.origin, { kind: "file", file: "p/deploy.pre.sh.ejs", line: 2, col: 8 });
    assert.equal(found.code, "lint-quoted-output");
  });

  it("takes the helper of the file's own language: systemd, nginx, logrotate, env files", () => {
    assert.deepEqual(lint(`Description=<%- unitValue(spec.name) %>\nExecStart=<%- unitExec(spec.home) %>\n`, "x.service.ejs"), []);
    assert.match(lint(`ExecStart=<%- unitValue(spec.home) %>\n`, "x.service.ejs").join(), /use unitExec\(\)/);
    assert.match(lint(`Description=<%- sh(spec.name) %>\n`, "x.timer.ejs").join(), /use unitValue\(\)/);
    assert.deepEqual(lint(`server_name <%- spec.dns.map(nginx).join(" ") %>;\n`, "vhost.conf.ejs"), []);
    assert.match(lint(`server_name <%- sh(spec.name) %>;\n`, "vhost.conf.ejs").join(), /use nginx\(\)/);
    // An nginx partial stands alone on its line; glued to a directive it would be unquoted text.
    assert.deepEqual(lint(`server {\n<%- include('_tls-server.conf.ejs') -%>\n}\n`, "vhost.conf.ejs"), []);
    assert.match(lint(`server_name <%- include('_names.conf.ejs') %>;\n`, "vhost.conf.ejs").join(), /include\(\) stands alone on its line/);
    assert.match(lint(`Description=<%- include('_x.service.ejs') %>\n`, "x.service.ejs").join(), /use unitValue\(\)/);
    assert.match(lint(`<%- sh(spec.home) %> {\n`, "logrotate.ejs").join(), /use logrotatePath\(\)/);
    assert.deepEqual(lint(`<%- shAssign(entry.key, entry.value) %>\n`, "env.ejs"), []);
    assert.match(lint(`export <%- shAssign(entry.key, entry.value) %>\n`, "secrets.env.ejs").join(), /one shAssign/);
  });
});

describe("the lint on any text", () => {
  it("returns diagnostics, never throws, whatever an external template holds", () => {
    const piece = fc.constantFrom("<%", "<%-", "<%=", "<%_", "%>", "-%>", "_%>", "<%%", " sh(x) ", "include('a')", "'", '"', "`", "$(", "$((", "${", ")", "}", "<<", "<<'PY'", "PY", "EOF", "\n", "#", "\\", " ", "eval", "sh -c");
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 4 })), { maxLength: 40 }), fc.constantFrom("a.sh.ejs", "x.service.ejs", "vhost.conf.ejs", "env.ejs"), (parts, file) => {
        const found = lintTemplate(parts.join(""), file);
        assert.ok(found.every((d) => d.code.startsWith("lint-") && d.origin?.kind === "file"));
      }),
      { seed: 20261201, numRuns: 3000 },
    );
  });
});
