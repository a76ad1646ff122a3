/**
 * Builds the detonation image for the local Docker engine (CI runs this before the tests): the
 * Debian trixie base from Debian's packages when `local/debian:trixie` is missing, then
 * container/Dockerfile on it, tagged with the digest of its inputs. Both steps are skipped when their
 * image already exists, so a CI machine rebuilds only after the sources changed.
 *
 *   npx tsx scripts/build-detonation-image.ts          # prints the image tag on stdout
 */
import { dockerEngineAnswers, ensureDetonationImage } from '../local/detonation/image';

if (!dockerEngineAnswers()) {
  process.stderr.write('build-detonation-image: no Docker engine answers (`docker info` failed)\n');
  process.exit(1);
}
const started = Date.now();
try {
  const tag = await ensureDetonationImage((chunk) => process.stderr.write(chunk));
  process.stderr.write(`build-detonation-image: ${tag} ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${tag}\n`);
} catch (error) {
  process.stderr.write(`build-detonation-image: ${(error as Error).message}\n`);
  process.exit(1);
}
