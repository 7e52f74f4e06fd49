/* The signed-request test vectors of docs/protocol.md, as constants. test_sig.c checks that the
 * document holds exactly these values and that the code reproduces them. */
#ifndef PAY_TESTS_CRYPTO_VECTORS_H
#define PAY_TESTS_CRYPTO_VECTORS_H

static const struct {
    const char *name, *value;
} vectors[] = {
    {"ed25519.seed_hex", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
    {"ed25519.public_key_hex", "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"},
    {"ed25519.public_key_b64", "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="},
    {"request.key_id", "m_123"},
    {"request.method", "POST"},
    {"request.target", "/v1/trades?lang=en"},
    {"request.ts", "1764000000"},
    {"request.nonce", "n0nce-0123456789abcdef"},
    {"request.body",
     "{\"out_trade_no\":\"T1001\",\"amount\":{\"value\":\"12.50\",\"currency\":\"CNY\"}}"},
    {"request.body_sha256", "12a5ea03726dc61b1361ab47964ae98022a2305d1fa6c72a89b1eb7095e20d88"},
    {"request.canonical", "POST\n/v1/trades?lang=en\n1764000000\nn0nce-0123456789abcdef\n"
                          "12a5ea03726dc61b1361ab47964ae98022a2305d1fa6c72a89b1eb7095e20d88\n"},
    {"request.sig", "kEVDFhGsAYxhp-azC5aETaZq8JH6-CXujkfPBuP1fC43SvuWeks1f_RSgwyf4MuCHwnFKYJuZOw2n-"
                    "Ku5ue5BA"},
    {"request.header",
     "PAYGATE-ED25519 keyId=\"m_123\", ts=\"1764000000\", nonce=\"n0nce-0123456789abcdef\", "
     "sig=\"kEVDFhGsAYxhp-azC5aETaZq8JH6-CXujkfPBuP1fC43SvuWeks1f_RSgwyf4MuCHwnFKYJuZOw2n-"
     "Ku5ue5BA\""},
    {"response.key_id", "platform"},
    {"response.status", "200"},
    {"response.ts", "1764000001"},
    {"response.nonce", "resp-nonce-00000000001"},
    {"response.request_nonce", "n0nce-0123456789abcdef"},
    {"response.body", "{\"code\":\"SUCCESS\",\"trade_no\":\"2025112400001\"}"},
    {"response.body_sha256", "bfc10db1fb1484eca7ac0da2c2a6906fb817d1e7941d7a9dcbf55299bec2e64b"},
    {"response.canonical", "200\n1764000001\nresp-nonce-00000000001\nn0nce-0123456789abcdef\n"
                           "bfc10db1fb1484eca7ac0da2c2a6906fb817d1e7941d7a9dcbf55299bec2e64b\n"},
    {"response.sig", "S2Ax4QmrIQLhRPeOsBUBNUehjfzR6LxaG6bbLOC2XCrZU2n1JMe3z7oNdQ3MM0i_"
                     "zDHToXqQABRLX_myXCsLCw"},
    {"response.header",
     "PAYGATE-ED25519 keyId=\"platform\", ts=\"1764000001\", nonce=\"resp-nonce-00000000001\", "
     "sig=\"S2Ax4QmrIQLhRPeOsBUBNUehjfzR6LxaG6bbLOC2XCrZU2n1JMe3z7oNdQ3MM0i_"
     "zDHToXqQABRLX_myXCsLCw\""},
    {"rsa.key_id", "m_rsa"},
    {"rsa.method", "GET"},
    {"rsa.target", "/v1/trades/T1001"},
    {"rsa.ts", "1764000000"},
    {"rsa.nonce", "rsa-nonce-000000000001"},
    {"rsa.body", ""},
    {"rsa.body_sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"rsa.canonical", "GET\n/v1/trades/T1001\n1764000000\nrsa-nonce-000000000001\n"
                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"},
    {"rsa.sig", "D-NYszohaWJ4NPPmPLg7PVwP4n7iWidVPe9gnG4mWewOxIU79B-GNRBC-MvQ3OXVMkGmR01zHrKFdVEt"
                "KcNWzZ5YNlfjO94jqwNv6FhngDEh5z-pVgbZCQyHwRxfyVopZpGQOu5gZy-Bp6maAL39mp4UpQzMZfOv"
                "GjgBYBZHC9XI9kHgCuYaFIQ0QXUpNKk97aX3bt1wQfGhHuTZFDHE8-O38sij-aWMsXanBpHKhZz_2sjV"
                "EteNpgcpbfeXgbXkBcYZmzsIOsxwR1-2s27qXbKBBBEJ_MRJAtc8qcCi96YaAd5EVXKUoAvI0KFsJJRN"
                "S1G9ZGMIfjh3dpkg21ZBVQ"},
    {"rsa.header",
     "PAYGATE-RSA-SHA256 keyId=\"m_rsa\", ts=\"1764000000\", nonce=\"rsa-nonce-0000000"
     "00001\", sig=\"D-NYszohaWJ4NPPmPLg7PVwP4n7iWidVPe9gnG4mWewOxIU79B-GNRBC-MvQ3OXVM"
     "kGmR01zHrKFdVEtKcNWzZ5YNlfjO94jqwNv6FhngDEh5z-pVgbZCQyHwRxfyVopZpGQOu5gZy-Bp6maA"
     "L39mp4UpQzMZfOvGjgBYBZHC9XI9kHgCuYaFIQ0QXUpNKk97aX3bt1wQfGhHuTZFDHE8-O38sij-aWMs"
     "XanBpHKhZz_2sjVEteNpgcpbfeXgbXkBcYZmzsIOsxwR1-2s27qXbKBBBEJ_MRJAtc8qcCi96YaAd5EV"
     "XKUoAvI0KFsJJRNS1G9ZGMIfjh3dpkg21ZBVQ\""},
};

/* The test-only RSA key of the RSA vector (also printed in docs/protocol.md). */
static const char rsa_test_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQC578C7kPiW4ANa\n"
    "yFLgz6M5vJdCwhJNpRdWUZGKP26fG+6aJhaU66P4OEVcnF0NlZRPWoH8pKYIuIOx\n"
    "/Exx5vbdXLPrybYIBtngmSWQnJ98MrwXcM+e5+TJvzEjC6VuODY+7M1BMzt4oUC0\n"
    "owUP3cilvpGeeBbFXRzmzAjXN41HAQeBEuLyxfVhuj05KZtakj4UZpme3u4EvtCP\n"
    "V+mcH2f541MkVw5whj7tO808wasVIvvRfozP6GYTBZEzEmHgMIaaowDqbJha6Qi8\n"
    "FD90hsYCF34mqogERQmM9x+GzGtNNSnSwZuiQClrC87h9gdU/p5CHJgLBFct4VWf\n"
    "Sa5zvoC5AgMBAAECggEAKz06hEPn02o/zXZFc7tFmZEmWeN4zy6juTKZ1lz+9ChS\n"
    "Oe2+lZ4g0QIA+1Lvfs+4oCWLkf2WEPQbyCHEgz5zTTIYMy6C0uYI9+aVakZJ/l9s\n"
    "B0V4OttxhIseOailLXcMAmEeMFniLCDPw9IfRLvOQ+EHyyLhJL+ND40GR0pHY+nO\n"
    "4Io9dSFmkW3Z4k9x47RmW0t++iQ0mPTyHc2C8J9pHOB/kehJgGY6uXIhiHj0rOFZ\n"
    "y9Zn9e7Qc7Hm5SNvtwbb4C5vIPS0+QFMRbdaV6ICgF7KVG5Aa7nml5qguAdViLC+\n"
    "rA/7B4m/WioYh9RBS5HE5193sQxhTjTpbn2zC+k4WwKBgQDxR+3G3qoudvPEDZFF\n"
    "BSnRZyZYLwhSnWFVYph2hHe97WW2+cRd99jzEXhlsE22TpN/PAyiTa5Cjyje8R7N\n"
    "j3Vr58VSrFbk/9XBHx+Kg6QrIo88yca7mF+R++To6AhpKoocVX2WW8/dSQy8Z2Mk\n"
    "qem7i+QFGF4Z1oQBAlUTBAxufwKBgQDFR4NcEfpFeJ8yI9ZquRyzd0ZzAw48YOFy\n"
    "w3fjiBcrZFbEXStFA/+o+LuV7ssQkdD+TFKeGarZ0zCl4JamhjiF+WsCIV0zIS/l\n"
    "070DowPg1g27asV/pCMKcU/jRwplhmGGTJFP439kQ3/jRWfF30c8cNvGplrHrKQc\n"
    "ut6PXZVkxwKBgQC8ytty0Ke407rJnRQePXwLLfsC5UpN2ndeqFdD5UMMicUc9zJ/\n"
    "lH9dMj5S0zD7hWBEHmiEVuQTkJEaYPEJR0dJt4Dev5r+dHB9PC0h5P+AAPqzRe8K\n"
    "up+NStxCocxy/aYzpXEvRYfQTmh4wy0AczNAXKV+lyKKdR+06m5HAtP3YQKBgQCJ\n"
    "ye8XyX6yMxON47YJCI3hU3ejMQkqZshQbfI4u37jUcvAjwp/w9E3ZbMvf3/ZbN86\n"
    "Hni98FOCnJ0n3nuah7jG6nQxIriD07Quo/sqpRs6WIdy1ZpoEm5fBtGzfpTmYDuR\n"
    "n70GvXDmyLZ0OK/IZrDMqE74qoxRVmWxo1t7avPDVQKBgQC3okb+FYrQy+5bOZDF\n"
    "g6AJfOlrlbDdok4Vp2h8jGv2I6XAluYVr2IwE1Fv8vrUn++lTbDH1meghRh2QeSu\n"
    "W5rtSrJWbfWTVtIwWOhpbNRVKnO4cav60TD/O8ZCf0c2noVOWC5X7JEANwIxqpbW\n"
    "9tVXCSAHfLA/DBsae9apHkri2g==\n"
    "-----END PRIVATE KEY-----\n";

#endif
