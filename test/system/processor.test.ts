/** The processor's system tests with StreamingPull, the transport in GCP (cases in processor.suite.ts). */
import { processorSuite } from './processor.suite';

processorSuite('streaming');
