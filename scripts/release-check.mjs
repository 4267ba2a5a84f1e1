// The release workflow's version checks, runnable anywhere (a dry run before tagging):
// package.json, src/version.ts, the CHANGELOG's newest release and the README's snippets
// (`@v<major>`, `npx backup-drill@<version>`) agree, and the tag (when given) names that version.
//
//   node scripts/release-check.mjs [--tag v1.2.3] [--notes <file>]
// Exit 0 when everything agrees (prints the version); 1 with one line per problem otherwise.
// --notes writes the CHANGELOG section of the version (the GitHub release's notes) to a file.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;

/** The newest released section of a Keep a Changelog file: `## [1.2.3] - 2026-12-02`. */
export function newestRelease(changelog) {
  for (const m of changelog.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?[^\n]*$/gm)) {
    if (m[1].toLowerCase() === 'unreleased') continue;
    return { version: m[1], date: m[2], heading: m[0], at: m.index };
  }
  return undefined;
}

/** The body of the section of `version` (without its heading), trimmed. */
export function releaseNotes(changelog, version) {
  const heading = new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\][^\\n]*\\n`, 'm').exec(changelog);
  if (!heading) return undefined;
  const rest = changelog.slice(heading.index + heading[0].length);
  const end = rest.search(/^## \[|^\[[^\]]+\]: /m);
  return (end === -1 ? rest : rest.slice(0, end)).trim();
}

/** Every disagreement between the files (and the tag), as sentences that say what to change. */
export function versionProblems({ packageJson, versionTs, changelog, readme, tag }) {
  const problems = [];
  const version = JSON.parse(packageJson).version;
  if (!SEMVER.test(version ?? '')) problems.push(`package.json version '${version}' is not a semantic version (MAJOR.MINOR.PATCH).`);
  const major = SEMVER.exec(version ?? '')?.[1];

  const toolVersion = /TOOL_VERSION = '([^']+)'/.exec(versionTs)?.[1];
  if (toolVersion !== version) problems.push(`src/version.ts has TOOL_VERSION '${toolVersion}', package.json '${version}': make them equal.`);

  const newest = newestRelease(changelog);
  if (!newest) problems.push('CHANGELOG.md has no release section (## [x.y.z] - YYYY-MM-DD).');
  else {
    if (newest.version !== version)
      problems.push(`CHANGELOG.md's newest release is ${newest.version}, package.json says ${version}: add a '## [${version}] - <date>' section.`);
    if (!newest.date) problems.push(`CHANGELOG.md's section for ${newest.version} has no date ('## [${newest.version}] - YYYY-MM-DD').`);
    if (!releaseNotes(changelog, newest.version)) problems.push(`CHANGELOG.md's section for ${newest.version} is empty.`);
    if (!new RegExp(`^\\[${newest.version.replace(/\./g, '\\.')}\\]: \\S+`, 'm').test(changelog))
      problems.push(`CHANGELOG.md has no link line '[${newest.version}]: https://…/releases/tag/v${newest.version}'.`);
  }

  for (const m of readme.matchAll(/backup-drill(?:\/[\w./-]+)?@v(\d+)(?![\d.])/g)) {
    if (m[1] !== major) problems.push(`README.md uses '${m[0]}' but the version is ${version}: write '@v${major}'.`);
  }
  for (const m of readme.matchAll(/npx (?:-y )?backup-drill@(\S+)/g)) {
    const v = m[1].replace(/[`'"),.]+$/, '');
    if (v !== version && v !== `${major}` && v !== 'latest') problems.push(`README.md has '${m[0]}' but the version is ${version}.`);
  }

  if (tag !== undefined && tag !== `v${version}`)
    problems.push(`The tag is '${tag}' but package.json's version is ${version}: tag 'v${version}' (or bump the version).`);
  return problems;
}

function main() {
  const { values } = parseArgs({ options: { tag: { type: 'string' }, notes: { type: 'string' }, root: { type: 'string' } } });
  const root = resolve(values.root ?? '.');
  const read = (f) => readFileSync(resolve(root, f), 'utf8');
  const files = { packageJson: read('package.json'), versionTs: read('src/version.ts'), changelog: read('CHANGELOG.md'), readme: read('README.md') };
  const problems = versionProblems({ ...files, tag: values.tag });
  if (problems.length) {
    for (const p of problems) process.stderr.write(`release-check: ${p}\n`);
    process.exit(1);
  }
  const version = JSON.parse(files.packageJson).version;
  if (values.notes) writeFileSync(values.notes, `${releaseNotes(files.changelog, version)}\n`);
  process.stdout.write(`${version}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) main();
