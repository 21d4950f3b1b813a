// `npm run env:example`: writes .env.example from the settings' schema (cluster/env-example.ts).
import fs from 'node:fs';
import { ENV_EXAMPLE, renderEnvExample } from '../env-example';

fs.writeFileSync(ENV_EXAMPLE, renderEnvExample());
console.log(`Wrote ${ENV_EXAMPLE}.`);
