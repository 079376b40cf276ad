import { readJsonLines } from './jsonl.ts';
import { parseHttpRow } from './request.ts';
import { ProfileLearner } from './profile.ts';
const l = new ProfileLearner(); for await (const x of readJsonLines('/work/shared/data/csic2010/train-normal.jsonl.gz')) if ('value' in x) l.add(parseHttpRow(x.value));
const p = l.fit(); const pp = p.params.get('/tienda1/publico/registro.jsp\u0000login')!;
console.log(pp.n, pp.value.keys.size, pp.value.unseen, [...pp.value.keys].slice(0,5), pp.fine.unseen, pp.newClass, [...pp.classes]);
