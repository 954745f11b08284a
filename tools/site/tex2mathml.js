// TeX -> MathML at build time (tools/build_site.py), so no page ships MathJax's 1.3 MB browser script:
// browsers draw MathML themselves. Reads [[tex, display], ...] as JSON on stdin, writes [mathml, ...].
const {mathjax} = require('mathjax-full/js/mathjax.js');
const {TeX} = require('mathjax-full/js/input/tex.js');
const {liteAdaptor} = require('mathjax-full/js/adaptors/liteAdaptor.js');
const {RegisterHTMLHandler} = require('mathjax-full/js/handlers/html.js');
const {AllPackages} = require('mathjax-full/js/input/tex/AllPackages.js');
const {SerializedMmlVisitor} = require('mathjax-full/js/core/MmlTree/SerializedMmlVisitor.js');
const {STATE} = require('mathjax-full/js/core/MathItem.js');

RegisterHTMLHandler(liteAdaptor());
// bussproofs measures boxes, which needs an output jax; no notebook draws proof trees
const packages = AllPackages.filter((name) => name !== 'bussproofs');
const doc = mathjax.document('', {InputJax: new TeX({packages, formatError: (jax, err) => { throw err; }})});
const visitor = new SerializedMmlVisitor();

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map(([tex, display]) => {
    try {
      const node = doc.convert(tex, {display, end: STATE.CONVERT});
      return visitor.visitTree(node).replace(/\n\s*/g, '');
    } catch (err) {
      process.stderr.write(`TeX error in ${JSON.stringify(tex)}: ${err.message}\n`);
      process.exit(1);
    }
  });
  process.stdout.write(JSON.stringify(out));
});
