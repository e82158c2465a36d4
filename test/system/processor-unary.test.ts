/** The processor's system tests with unary Pull, the transport of the local mesh (cases in processor.suite.ts). */
import { processorSuite } from './processor.suite';

processorSuite('unary');
