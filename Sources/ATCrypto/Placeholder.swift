import ATProto
