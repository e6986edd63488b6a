/** The REST API: server/api/rest (routes, tokens, rates); its OpenAPI document is GET /api/v1/openapi.json. */
import { handleApiRequest } from '@/server/api/rest/handler';

export { handleApiRequest as GET, handleApiRequest as PUT, handleApiRequest as POST };
