/** Typed contracts, the typed channel and the declarative app (issue 17). */
export { defineContract, wireName } from './contract';
export type {
  CallName,
  ContractHandlers,
  ContractSpec,
  DataArgs,
  EventImpl,
  EventName,
  EventOf,
  EventSpec,
  ParamsInput,
  ParamsOutput,
  PayloadInput,
  PayloadOutput,
  ReturnsInput,
  ReturnsOutput,
  StreamName,
  TopicName,
  TopicSpec,
} from './contract';
export { TypedChannel, typedChannel } from './typed-channel';
export type { EventSchemaView, TopicSchemaView } from './typed-channel';
export { TypedApp, implement } from './implement';
