-- Argo CD's built-in health check for bitnami.com/SealedSecret, as shipped in
-- argoproj/argo-cd resource_customizations/bitnami.com/SealedSecret/health.lua (the version that
-- checks observedGeneration). Copyright The Argo Authors, Apache License 2.0
-- (http://www.apache.org/licenses/LICENSE-2.0). Copied unchanged below this header, to test
-- what sealops writes on bitnami.com objects against it.
local health_status = {
    status = "Progressing",
    message = "Waiting for Sealed Secret to be decrypted"
}

-- A Synced condition can still describe an earlier generation.
if obj.metadata == nil or obj.metadata.generation == nil or obj.status == nil or
    obj.status.observedGeneration ~= obj.metadata.generation then
    return health_status
end

if obj.status.conditions ~= nil then
    for _, condition in ipairs(obj.status.conditions) do
        if condition.type == "Synced" and condition.status == "False" then
            health_status.status = "Degraded"
            health_status.message = condition.message
            return health_status
        end
        if condition.type == "Synced" and condition.status == "True" then
            health_status.status = "Healthy"
            health_status.message = condition.message
            return health_status
        end
    end
end
return health_status
