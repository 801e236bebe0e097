export { type Connection, type Model, Schema, Types } from 'mongoose';
export { connectMongo, pingMongo } from './connection.js';
