// The committed bundle under this machine's Node, run as the GitHub runner runs it
// (the scenario: test/helpers/action-scenario.ts).
import { actionScenario } from '../helpers/action-scenario.js';

actionScenario(`node ${process.version}`, () => undefined);
